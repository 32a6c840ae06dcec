import { ERROR_CODE_LIST, EXIT, exitStatusOf, specOf } from '../../src/shared/error-registry.js';

/** `docs/errors.md`: the error registry (src/shared/error-registry.ts) as one table. */
export async function renderErrorsDoc(): Promise<string> {
  const out: string[] = [];
  out.push('# Errors');
  out.push('');
  out.push('<!-- Generated from src/shared/error-registry.ts by `npm run generate`. Do not edit by hand: a test fails when this file is stale. -->');
  out.push('');
  out.push(
    'Every error session-lattice reports has a stable code from one registry, `src/shared/error-registry.ts`. The code is in the read API\'s error bodies (`{"error": {"code", "message", "parameter"?}}`, with the HTTP status below), in an MCP tool error\'s `structuredContent` (`{"code", "message", "parameter"?}`, beside the message as text), in the line a command prints on stderr when it fails (`error[code]: message`, then it exits with the status below), in `pull --json`\'s `error_code`, in `puller/status.json`\'s `last_error_code`, in the `tick_finished` event\'s `error_code`, and in the puller metric `session_lattice_puller_tick_failures_total{code}`. Scripts match on the code; the message is for people and may change.',
  );
  out.push('');
  out.push(
    `Exit statuses: ${EXIT.failure} when a command fails, ${EXIT.usage} for a bad setting (also commander's for a bad flag or command), ${EXIT.tempfail} (EX_TEMPFAIL) when the disk is full or failing and the command should be run again later (a service manager restarts the puller); \`status\` exits by the health verdict instead (see its --help).`,
  );
  out.push('');
  out.push('| code | HTTP status | exit | meaning | message |');
  out.push('|---|---|---|---|---|');
  for (const code of ERROR_CODE_LIST) {
    const spec = specOf(code);
    const status = spec.status === undefined ? '-' : [spec.status, ...(spec.also ?? [])].join(', ');
    out.push(`| \`${code}\` | ${status} | ${exitStatusOf(code)} | ${cell(spec.meaning)} | ${cell(`\`${spec.message}\``)} |`);
  }
  out.push('');
  out.push(
    'A code with no HTTP status never reaches an HTTP body. `{name}` in a message stands for the part the error fills in. A new error gets its code in the registry first; `npm run generate` rewrites this file.',
  );
  out.push('');
  return out.join('\n');
}

/** A table cell: pipes escaped, on one line. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
