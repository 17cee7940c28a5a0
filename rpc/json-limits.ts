/**
 * Bounds on JSON that comes from outside (WebSocket frames, webhook bodies).
 *
 * `JSON.parse` itself survives deep nesting, but everything that later walks the parsed value
 * recursively does not: zod, `JSON.stringify`, structured clone (`postMessage` to a worker
 * thread), the engine's value conversion. A 1 MiB body of `[[[[…` is 500,000 levels deep and
 * overflows the stack in any of them. So the depth is measured on the text, before parsing,
 * by a single non-recursive pass that counts `[`/`{` outside strings: O(n), no allocation.
 */

/** Deepest nesting of arrays/objects accepted in outside JSON (a frame, a webhook body). */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Nesting depth of JSON text: the largest number of arrays/objects open at once. Scanning
 * stops as soon as the depth passes `limit` (the result is then `limit + 1`). Works on a
 * string or on UTF-8 bytes (multi-byte sequences never contain these ASCII bytes). The text
 * need not be valid JSON: the parser still judges that; this only bounds what it would build.
 */
export function jsonDepth(text: string | Uint8Array, limit = Infinity): number {
  return typeof text === 'string' ? depthOfString(text, limit) : depthOfBytes(text, limit);
}

// Two copies of one loop, so each reads its input the cheapest way (charCodeAt / index).

function depthOfString(text: string, limit: number): number {
  const n = text.length;
  let depth = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) depth--;
  }
  return max;
}

function depthOfBytes(text: Uint8Array, limit: number): number {
  const n = text.length;
  let depth = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const c = text[i];
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text[i];
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) depth--;
  }
  return max;
}

/** True when JSON text nests deeper than `limit` (default {@link MAX_JSON_DEPTH}). */
export function jsonTooDeep(text: string | Uint8Array, limit = MAX_JSON_DEPTH): boolean {
  return jsonDepth(text, limit) > limit;
}
