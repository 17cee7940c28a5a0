/** Integer and float built-ins (math, conversions, bit access). */
import { getBits, setBits, sliceBounds } from '../access';
import { fail } from '../errors';
import { intAbs, unsigned64 } from '../int';
import { isInt, normBig, RChar, RFloat, RRange, type Value } from '../values';
import { type Builtin, noMatch } from './registry';

function f1(fn: (x: number) => number): Builtin {
  return (a) => (a.length === 1 && a[0] instanceof RFloat ? new RFloat(fn(a[0].v)) : noMatch());
}
function fpred(fn: (x: number) => boolean, intAnswer?: boolean): Builtin {
  return (a) => {
    if (a.length !== 1) return noMatch();
    if (a[0] instanceof RFloat) return fn(a[0].v);
    if (intAnswer !== undefined && isInt(a[0])) return intAnswer;
    return noMatch();
  };
}

function intOnly(fn: (x: number | bigint) => Value): Builtin {
  return (a) => (a.length === 1 && isInt(a[0]) ? fn(a[0]) : noMatch());
}

function radix(v: number | bigint, r: number): string {
  return unsigned64(v).toString(r);
}

function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export const NUMBERS: Record<string, Builtin> = {
  abs: (a) => {
    if (a.length !== 1) return noMatch();
    if (isInt(a[0])) return intAbs(a[0]);
    if (a[0] instanceof RFloat) return new RFloat(Math.abs(a[0].v));
    return noMatch();
  },
  sign: (a) => {
    if (a.length !== 1) return noMatch();
    const v = a[0];
    if (isInt(v)) return v > 0 ? 1 : v < 0 ? -1 : 0;
    if (v instanceof RFloat) {
      if (Number.isNaN(v.v)) throw fail('ErrorArithmetic', 'Sign of NaN is undefined');
      return v.v > 0 ? 1 : v.v < 0 ? -1 : 0;
    }
    return noMatch();
  },
  is_zero: (a) =>
    a.length === 1 && isInt(a[0]) ? a[0] === 0 : a[0] instanceof RFloat ? a[0].v === 0 : noMatch(),
  is_odd: intOnly((v) => (typeof v === 'number' ? v % 2 !== 0 : v % 2n !== 0n)),
  is_even: intOnly((v) => (typeof v === 'number' ? v % 2 === 0 : v % 2n === 0n)),
  to_float: (a) =>
    a.length === 1 && isInt(a[0]) ? new RFloat(Number(a[0])) : a[0] instanceof RFloat ? a[0] : noMatch(),
  to_int: (a) => {
    if (a.length !== 1) return noMatch();
    const v = a[0];
    if (isInt(v)) return v;
    if (v instanceof RChar) return v.c.codePointAt(0)!;
    if (v instanceof RFloat) {
      const t = Math.trunc(v.v);
      if (!Number.isFinite(t) || t > 9223372036854775807 || t < -9223372036854775808) {
        throw fail('ErrorArithmetic', `Integer overflow: to_int(${v.v})`);
      }
      return normBig(BigInt(t));
    }
    return noMatch();
  },
  to_hex: intOnly((v) => radix(v, 16)),
  to_octal: intOnly((v) => radix(v, 8)),
  to_binary: intOnly((v) => radix(v, 2)),
  floor: f1(Math.floor),
  ceiling: f1(Math.ceil),
  round: f1(roundHalfAway),
  int: f1(Math.trunc),
  fraction: f1((x) => x - Math.trunc(x)),
  sqrt: f1(Math.sqrt),
  exp: f1(Math.exp),
  ln: f1(Math.log),
  log: (a) => {
    if (a.length === 1 && a[0] instanceof RFloat) return new RFloat(Math.log10(a[0].v));
    if (a.length === 2 && a[0] instanceof RFloat && a[1] instanceof RFloat)
      return new RFloat(Math.log(a[0].v) / Math.log(a[1].v));
    return noMatch();
  },
  sin: f1(Math.sin),
  cos: f1(Math.cos),
  tan: f1(Math.tan),
  asin: f1(Math.asin),
  acos: f1(Math.acos),
  atan: (a) =>
    a.length === 2 && a[0] instanceof RFloat && a[1] instanceof RFloat
      ? new RFloat(Math.atan2(a[0].v, a[1].v))
      : f1(Math.atan)(a, undefined as never),
  sinh: f1(Math.sinh),
  cosh: f1(Math.cosh),
  tanh: f1(Math.tanh),
  is_nan: fpred(Number.isNaN, false),
  is_finite: fpred(Number.isFinite, true),
  is_infinite: fpred((x) => x === Infinity || x === -Infinity, false),
  to_radians: f1((x) => (x * Math.PI) / 180),
  to_degrees: f1((x) => (x * 180) / Math.PI),
  get_bit: (a, cx) =>
    a.length === 2 && isInt(a[0]) && isInt(a[1]) ? getBits(a[0], a[1], 1, cx.pos) === 1 : noMatch(),
  set_bit: (a, cx) => {
    if (a.length !== 3 || !isInt(a[0]) || !isInt(a[1]) || typeof a[2] !== 'boolean') return noMatch();
    a[0] = setBits(a[0], a[1], 1, a[2] ? 1 : 0, cx.pos);
    return undefined;
  },
  get_bits: (a, cx) => {
    if (isInt(a[0]) && a.length === 3 && isInt(a[1]) && isInt(a[2])) return getBits(a[0], a[1], a[2], cx.pos);
    if (isInt(a[0]) && a.length === 2 && a[1] instanceof RRange) {
      const r = a[1];
      return getBits(a[0], r.start, (r.inclusive ? r.end + 1 : r.end) - r.start, cx.pos);
    }
    return noMatch();
  },
  set_bits: (a, cx) => {
    if (isInt(a[0]) && a.length === 4 && isInt(a[1]) && isInt(a[2]) && isInt(a[3])) {
      a[0] = setBits(a[0], a[1], a[2], a[3], cx.pos);
      return undefined;
    }
    if (isInt(a[0]) && a.length === 3 && a[1] instanceof RRange && isInt(a[2])) {
      const r = a[1];
      a[0] = setBits(a[0], r.start, (r.inclusive ? r.end + 1 : r.end) - r.start, a[2], cx.pos);
      return undefined;
    }
    return noMatch();
  },
  bits: (a, cx) => {
    const v = a[0];
    if (!isInt(v)) return noMatch();
    let start = 0;
    let len = 64;
    if (a.length === 2 && isInt(a[1])) {
      start = Number(a[1]) < 0 ? 64 + Number(a[1]) : Number(a[1]);
      len = 64 - start;
    } else if (a.length === 2 && a[1] instanceof RRange) {
      [start, len] = sliceBounds(a[1], 64);
      len -= start;
    } else if (a.length === 3 && isInt(a[1]) && isInt(a[2])) {
      start = Number(a[1]) < 0 ? 64 + Number(a[1]) : Number(a[1]);
      len = Math.min(Number(a[2]), 64 - start);
    } else if (a.length !== 1) return noMatch();
    if (start < 0 || start >= 64)
      throw fail(
        'ErrorBitFieldBounds',
        `Bit-field index ${start} out of bounds: only 64 bits in bit-field`,
        cx.pos,
      );
    const u = unsigned64(v);
    const out: Value[] = [];
    for (let i = start; i < start + len; i++) out.push(((u >> BigInt(i)) & 1n) === 1n);
    return out;
  },
};
