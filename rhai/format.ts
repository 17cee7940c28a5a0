import { FnPtr, RChar, RFloat, RRange, RStepRange, sortedKeys, type Value } from './values';

/** f32 value nearest 1e13: Rhai switches to exponent form above it. */
const EXP_HIGH = 9999999827968;
const EXP_LOW = 1e-13;

export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0.0';
  const a = Math.abs(x);
  if (a > EXP_HIGH || a < EXP_LOW) return x.toExponential().replace('e+', 'e');
  if (a < 1e-6) return expandSmall(x);
  const s = String(x);
  return s.includes('.') ? s : s + '.0';
}

/** JS prints numbers below 1e-6 in exponent form; Rust does not (until 1e-13). */
function expandSmall(x: number): string {
  const [mant, expStr] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = -Number(expStr);
  return (x < 0 ? '-' : '') + '0.' + '0'.repeat(exp - 1) + digits;
}

/** Rust-style `{:?}` escaping of a string, with quotes. */
export function debugString(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\0':
        out += '\\0';
        break;
      default: {
        const c = ch.codePointAt(0)!;
        out += c < 0x20 || c === 0x7f ? `\\u{${c.toString(16)}}` : ch;
      }
    }
  }
  return out + '"';
}

/** Display form (`print`, `to_string`, string `+`). */
export function display(v: Value): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'undefined':
      return '';
  }
  if (v instanceof RFloat) return formatFloat(v.v);
  if (v instanceof RChar) return v.c;
  return debug(v, false);
}

/** Debug form (`debug`, `to_debug`, container elements). `quoteChars` for `${}` interpolation. */
export function debug(v: Value, quoteChars = false): string {
  switch (typeof v) {
    case 'string':
      return debugString(v);
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'undefined':
      return '()';
  }
  if (v instanceof RFloat) return formatFloat(v.v);
  if (v instanceof RChar) return quoteChars ? `'${v.c}'` : v.c;
  if (Array.isArray(v)) return '[' + v.map((e) => debug(e, quoteChars)).join(', ') + ']';
  if (v instanceof Map) {
    return (
      '#{' +
      sortedKeys(v)
        .map((k) => `${debugString(k)}: ${debug(v.get(k), quoteChars)}`)
        .join(', ') +
      '}'
    );
  }
  if (v instanceof FnPtr) return `Fn(${v.name})`;
  if (v instanceof RRange) return `${v.start}..${v.inclusive ? '=' : ''}${v.end}`;
  if (v instanceof RStepRange) return `range(${v.from}, ${v.to}, ${v.step})`;
  return '?';
}

/** Display form used inside back-tick `${}` interpolation (quotes chars inside containers). */
export function interpDisplay(v: Value): string {
  if (Array.isArray(v) || v instanceof Map) return debug(v, true);
  return display(v);
}
