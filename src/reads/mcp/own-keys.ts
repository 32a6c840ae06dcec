import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';

/**
 * zod leaves an own `__proto__` key out of a parsed record (assigning it on a plain object would
 * set the prototype instead), so `read_view` with `filters: {"__proto__": 1}` would silently read
 * every row. This wraps a tool's input schema: zod validates as before and describes the schema
 * (tools/list is unchanged), then each named record field gets back every key the caller sent, in
 * a null-prototype object. A key zod dropped thus reaches the planner, which refuses it as an
 * unknown column like any other, naming it and listing the real ones.
 */
export function keepRecordKeys<S extends StandardSchemaWithJSON>(schema: S, fields: readonly string[]): S {
  const std = schema['~standard'];
  const validate: typeof std.validate = (value) => {
    const result = std.validate(value);
    return result instanceof Promise ? result.then((r) => restore(value, r, fields)) : restore(value, result, fields);
  };
  return { '~standard': { ...std, validate } } as unknown as S;
}

type Result = Awaited<ReturnType<StandardSchemaWithJSON['~standard']['validate']>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function restore(raw: unknown, result: Result, fields: readonly string[]): Result {
  if (result.issues !== undefined || !isRecord(raw) || !isRecord(result.value)) return result;
  let value: Record<string, unknown> | null = null;
  for (const field of fields) {
    const given = raw[field];
    const parsed = (value ?? result.value)[field];
    if (!isRecord(given) || !isRecord(parsed) || Object.keys(given).length === Object.keys(parsed).length) continue;
    const kept = Object.create(null) as Record<string, unknown>;
    // Own enumerable keys, `__proto__` included; the values zod parsed where it kept the key.
    for (const key of Object.keys(given)) kept[key] = Object.hasOwn(parsed, key) ? parsed[key] : given[key];
    value ??= { ...result.value };
    value[field] = kept;
  }
  return value === null ? result : { value };
}
