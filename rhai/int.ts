import { fail, type RhaiFailure } from './errors';
import { I64_MAX, I64_MIN, normBig } from './values';

/** Checked i64 arithmetic. Fast paths live in the compiled operators; these handle the rest. */
export type Int = number | bigint;

function arith(detail: string): RhaiFailure {
  return fail('ErrorArithmetic', detail);
}

function checked(r: bigint, detail: () => string): Int {
  if (r > I64_MAX || r < I64_MIN) throw arith(detail());
  return normBig(r);
}

export function intAdd(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (r <= 9007199254740991 && r >= -9007199254740991) return r;
  }
  return checked(BigInt(a) + BigInt(b), () => `Addition overflow: ${a} + ${b}`);
}

export function intSub(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (r <= 9007199254740991 && r >= -9007199254740991) return r;
  }
  return checked(BigInt(a) - BigInt(b), () => `Subtraction overflow: ${a} - ${b}`);
}

export function intMul(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (r <= 9007199254740991 && r >= -9007199254740991) return r === 0 ? 0 : r;
  }
  return checked(BigInt(a) * BigInt(b), () => `Multiplication overflow: ${a} * ${b}`);
}

export function intDiv(a: Int, b: Int): Int {
  if (b === 0) throw arith(`Division by zero: ${a} / ${b}`);
  if (typeof a === 'number' && typeof b === 'number') {
    const r = Math.trunc(a / b);
    return r === 0 ? 0 : r;
  }
  const A = BigInt(a);
  const B = BigInt(b);
  if (A === I64_MIN && B === -1n) throw arith(`Division overflow: ${a} / ${b}`);
  return normBig(A / B);
}

export function intRem(a: Int, b: Int): Int {
  if (b === 0) throw arith(`Modulo division by zero or overflow: ${a} % ${b}`);
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a % b;
    return r === 0 ? 0 : r;
  }
  const A = BigInt(a);
  const B = BigInt(b);
  if (A === I64_MIN && B === -1n) throw arith(`Modulo division by zero or overflow: ${a} % ${b}`);
  return normBig(A % B);
}

export function intPow(a: Int, b: Int): Int {
  if (b < 0) throw arith(`Integer raised to a negative power: ${a} ** ${b}`);
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a ** b;
    if (r <= 9007199254740991 && r >= -9007199254740991) return r;
  }
  const A = BigInt(a);
  if (A === 0n || A === 1n) return Number(A);
  if (A === -1n) return BigInt(b) % 2n === 0n ? 1 : -1;
  if (b > 64) throw arith(`Exponential overflow: ${a} ** ${b}`);
  return checked(A ** BigInt(b), () => `Exponential overflow: ${a} ** ${b}`);
}

export function intNeg(a: Int): Int {
  if (typeof a === 'number') return a === 0 ? 0 : -a;
  return checked(-a, () => `Negation overflow: -${a}`);
}

export function intAbs(a: Int): Int {
  if (typeof a === 'number') return Math.abs(a);
  if (a === I64_MIN) throw arith(`Negation overflow: -${a}`);
  return a < 0n ? -a : a;
}

function toU(a: Int): bigint {
  return BigInt.asIntN(64, BigInt(a));
}

export function intAnd(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number' && (a | 0) === a && (b | 0) === b) return a & b;
  return normBig(BigInt.asIntN(64, toU(a) & toU(b)));
}
export function intOr(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number' && (a | 0) === a && (b | 0) === b) return a | b;
  return normBig(BigInt.asIntN(64, toU(a) | toU(b)));
}
export function intXor(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number' && (a | 0) === a && (b | 0) === b) return a ^ b;
  return normBig(BigInt.asIntN(64, toU(a) ^ toU(b)));
}

export function intShl(a: Int, n: Int): Int {
  const k = Number(n);
  if (k < 0) return intShr(a, -k);
  if (k >= 64) return 0;
  return normBig(BigInt.asIntN(64, BigInt(a) << BigInt(k)));
}

export function intShr(a: Int, n: Int): Int {
  const k = Number(n);
  if (k < 0) return intShl(a, -k);
  if (k >= 64) return a < 0 ? -1 : 0;
  return normBig(BigInt(a) >> BigInt(k));
}

/** Two's complement bits of an i64 as an unsigned bigint. */
export function unsigned64(a: Int): bigint {
  return BigInt.asUintN(64, BigInt(a));
}

export function compareInt(a: Int, b: Int): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
