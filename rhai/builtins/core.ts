/** Global built-ins: type_of, to_string, parse_int, min/max, range, ... */
import { fail } from '../errors';
import { debug, display } from '../format';
import { compareValues, toF } from '../operators';
import { isInt, normBig, RChar, RFloat, RStepRange, typeName, type Value } from '../values';
import { type Builtin, noMatch } from './registry';

function parseIntStr(s: string, radix: number): Value {
  const t = s.trim();
  const valid = radix === 10 ? /^[+-]?[0-9]+$/ : radix === 16 ? /^[+-]?[0-9a-fA-F]+$/ : null;
  let ok: boolean;
  if (valid) ok = valid.test(t);
  else {
    const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, radix);
    ok =
      t.length > 0 &&
      [...t.replace(/^[+-]/, '').toLowerCase()].every((c) => digits.includes(c)) &&
      /[^+-]/.test(t);
  }
  if (!ok) {
    throw fail(
      'ErrorArithmetic',
      `Error parsing integer number '${s}': ${t === '' ? 'cannot parse integer from empty string' : 'invalid digit found in string'}`,
    );
  }
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '').toLowerCase();
  let v = 0n;
  for (const c of body) v = v * BigInt(radix) + BigInt(parseInt(c, radix));
  if (neg) v = -v;
  if (v > 9223372036854775807n || v < -9223372036854775808n) {
    throw fail(
      'ErrorArithmetic',
      `Error parsing integer number '${s}': number too large to fit in target type`,
    );
  }
  return normBig(v);
}

function numOrNoMatch(v: Value): number {
  if (isInt(v)) return Number(v);
  if (v instanceof RFloat) return v.v;
  return noMatch();
}

export const CORE: Record<string, Builtin> = {
  type_of: (a) => (a.length === 1 ? typeName(a[0]) : noMatch()),
  // display/debug forms can be larger than the value (escapes, separators): checked
  to_string: (a, cx) => (a.length === 1 ? cx.rt.checkString(display(a[0]), cx.pos) : noMatch()),
  to_debug: (a, cx) => (a.length === 1 ? cx.rt.checkString(debug(a[0]), cx.pos) : noMatch()),
  parse_int: (a) => {
    if (typeof a[0] !== 'string') return noMatch();
    if (a.length === 1) return parseIntStr(a[0], 10);
    if (a.length === 2 && isInt(a[1])) {
      const r = Number(a[1]);
      if (r < 2 || r > 36) throw fail('ErrorArithmetic', `Invalid radix: '${r}'`);
      return parseIntStr(a[0], r);
    }
    return noMatch();
  },
  parse_float: (a) => {
    if (a.length !== 1 || typeof a[0] !== 'string') return noMatch();
    const t = a[0].trim();
    if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$/i.test(t)) {
      throw fail('ErrorArithmetic', `Error parsing floating-point number '${a[0]}': invalid float literal`);
    }
    const l = t.toLowerCase().replace(/^\+/, '');
    return new RFloat(
      l.endsWith('inf') || l.endsWith('infinity') ? (l.startsWith('-') ? -Infinity : Infinity) : Number(t),
    );
  },
  min: (a) => minMax(a, true),
  max: (a) => minMax(a, false),
  range: (a) => {
    if (a.length < 2 || a.length > 3) return noMatch();
    const allInt = a.every(isInt);
    const allNum = a.every((x) => isInt(x) || x instanceof RFloat);
    if (!allNum) return noMatch();
    const step = a.length === 3 ? numOrNoMatch(a[2]) : 1;
    if (step === 0) throw fail('ErrorInFunctionCall', 'step value cannot be zero');
    return new RStepRange(numOrNoMatch(a[0]), numOrNoMatch(a[1]), step, !allInt);
  },
  PI: (a) => (a.length === 0 ? new RFloat(Math.PI) : noMatch()),
  E: (a) => (a.length === 0 ? new RFloat(Math.E) : noMatch()),
};

function minMax(a: Value[], min: boolean): Value {
  if (a.length !== 2) return noMatch();
  const [x, y] = a;
  const num = (v: Value) => isInt(v) || v instanceof RFloat;
  if (num(x) && num(y)) {
    if (isInt(x) && isInt(y)) return (min ? x <= y : x >= y) ? x : y;
    const fx = toF(x as number);
    const fy = toF(y as number);
    return new RFloat(min ? Math.min(fx, fy) : Math.max(fx, fy));
  }
  if ((typeof x === 'string' && typeof y === 'string') || (x instanceof RChar && y instanceof RChar)) {
    return compareValues('<=', x, y) === min ? x : y;
  }
  return noMatch();
}
