/**
 * Colour for people, never for machines: on when the stream is a terminal that supports it, off
 * when `NO_COLOR` is set (https://no-color.org) or the stream is a pipe or file; `FORCE_COLOR`
 * overrides both ways, as in Node itself.
 */
export interface ColourStream {
  isTTY?: boolean;
  hasColors?: () => boolean;
}

function colourEnabled(stream: ColourStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true && (stream.hasColors?.() ?? false);
}

export interface Paint {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

const COLOURS: Paint = {
  red: sgr(31, 39),
  yellow: sgr(33, 39),
  green: sgr(32, 39),
  cyan: sgr(36, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
};

const plain = (text: string) => text;
export const PLAIN: Paint = { red: plain, yellow: plain, green: plain, cyan: plain, dim: plain, bold: plain };

/** The palette for a stream, decided once. */
export function paintFor(stream: ColourStream, env: NodeJS.ProcessEnv = process.env): Paint {
  return colourEnabled(stream, env) ? COLOURS : PLAIN;
}
