/** Bytes that are left as-is; everything else (including `%` and `:`) is escaped. */
const SAFE_BYTE = /^[A-Za-z0-9_.-]$/;

/**
 * Escapes a string so it contains only `[A-Za-z0-9_.%-]`: every UTF-8 byte
 * outside `[A-Za-z0-9_.-]` becomes `%XX` (upper-case hex).
 *
 * Why: redelivery keys are built from provider-controlled fields and end up in
 * Redis keys and log lines. Escaping `:` and `%` as well makes the mapping
 * injective, so `a:b` + `c` can never collide with `a` + `b:c` once the parts
 * are joined with `:`; and no whitespace/control character can reach a log.
 *
 * @param value - any string
 * @returns the escaped form; unchanged when already made of safe characters
 */
export function escapeKeyPart(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += SAFE_BYTE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Joins escaped parts with `:` into one redelivery key.
 *
 * @param parts - raw (unescaped) key components
 */
export function makeEventKey(...parts: readonly (string | number | boolean)[]): string {
  return parts.map((p) => escapeKeyPart(String(p))).join(':');
}
