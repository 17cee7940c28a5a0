/**
 * Operator expressions: unary, binary (with integer fast paths), short-circuit `&&` / `||`
 * and `??`. What an operator means for each pair of types lives in ../operators.ts; this
 * file compiles the operator nodes and keeps the common integer cases inline.
 */
import type { ExprOf } from '../ast';
import { type Pos, RhaiFailure } from '../errors';
import { intNeg } from '../int';
import { binaryOp, fnNotFound, mismatchBool } from '../operators';
import type { Frame, Runtime } from '../runtime';
import { checkDataSize, limitArray } from '../sizes';
import { isInt, RFloat, type Value } from '../values';
import { charged } from './charge';
import type { Compiled, FnCompiler } from './context';

/** Largest safe integer: a result within it is exact (a literal: constant-folded in the hot path). */
const MAX = 9007199254740991;

/** Error (possibly from a binary operator) with the operator's position unless arithmetic. */
function slowBinary(op: string, a: Value, b: Value, pos: Pos, rt: Runtime): Value {
  try {
    // `a + b` of two arrays: no copy is made past the element limit
    if (op === '+' && rt.limited && Array.isArray(a) && Array.isArray(b))
      limitArray(rt, a.length + b.length, pos);
    const r = binaryOp(op, a, b);
    if ((typeof r === 'object' || typeof r === 'string') && rt.limited) checkDataSize(rt, r, pos);
    return r;
  } catch (e) {
    if (e instanceof RhaiFailure && e.kind !== 'ErrorArithmetic') e.at(pos);
    throw e;
  }
}

/** `-x`, `+x`, `!x`. */
export function unary(fc: FnCompiler, e: ExprOf<'unary'>): Compiled {
  const [x, xc] = fc.expr(e.operand);
  const pos = e.pos;
  switch (e.op) {
    case '-':
      return [
        (f) => {
          const v = x(f);
          if (typeof v === 'number') return v === 0 ? 0 : -v;
          if (typeof v === 'bigint') return intNeg(v);
          if (v instanceof RFloat) return new RFloat(-v.v);
          throw fnNotFound('-', [v]).at(pos);
        },
        1 + xc,
      ];
    case '+':
      return [
        (f) => {
          const v = x(f);
          if (isInt(v) || v instanceof RFloat) return v;
          throw fnNotFound('+', [v]).at(pos);
        },
        1 + xc,
      ];
    case '!':
      return [
        (f) => {
          const v = x(f);
          if (typeof v === 'boolean') return !v;
          throw fnNotFound('!', [v]).at(pos);
        },
        1 + xc,
      ];
  }
}

/**
 * Binary operators. The common ones get a closure of their own with an inline fast path for
 * two safe integers (JS numbers); anything else (floats, big ints, strings, overflow, errors)
 * goes to {@link slowBinary}.
 */
export function binary(fc: FnCompiler, e: ExprOf<'binary'>): Compiled {
  const [l, lc] = fc.expr(e.left);
  const [r, rc] = fc.expr(e.right);
  const cost = 1 + lc + rc;
  const pos = e.pos;
  const op = e.op;
  const slow = (a: Value, b: Value, f: Frame) => slowBinary(op, a, b, pos, f.rt);
  switch (op) {
    case '+':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          if (typeof a === 'number' && typeof b === 'number') {
            const x = a + b;
            if (x <= MAX && x >= -MAX) return x;
          }
          return slow(a, b, f);
        },
        cost,
      ];
    case '-':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          if (typeof a === 'number' && typeof b === 'number') {
            const x = a - b;
            if (x <= MAX && x >= -MAX) return x;
          }
          return slow(a, b, f);
        },
        cost,
      ];
    case '*':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          if (typeof a === 'number' && typeof b === 'number') {
            const x = a * b;
            if (x <= MAX && x >= -MAX) return x === 0 ? 0 : x;
          }
          return slow(a, b, f);
        },
        cost,
      ];
    case '%':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          if (typeof a === 'number' && typeof b === 'number' && b !== 0) {
            const x = a % b;
            return x === 0 ? 0 : x;
          }
          return slow(a, b, f);
        },
        cost,
      ];
    case '<':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          return typeof a === 'number' && typeof b === 'number' ? a < b : slow(a, b, f);
        },
        cost,
      ];
    case '<=':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          return typeof a === 'number' && typeof b === 'number' ? a <= b : slow(a, b, f);
        },
        cost,
      ];
    case '>':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          return typeof a === 'number' && typeof b === 'number' ? a > b : slow(a, b, f);
        },
        cost,
      ];
    case '>=':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          return typeof a === 'number' && typeof b === 'number' ? a >= b : slow(a, b, f);
        },
        cost,
      ];
    case '==':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          return typeof a === 'number' && typeof b === 'number' ? a === b : slow(a, b, f);
        },
        cost,
      ];
    case '!=':
      return [
        (f) => {
          const a = l(f);
          const b = r(f);
          return typeof a === 'number' && typeof b === 'number' ? a !== b : slow(a, b, f);
        },
        cost,
      ];
    default:
      return [(f) => slow(l(f), r(f), f), cost];
  }
}

/** `a && b`, `a || b`: both sides must be bools; the right one runs (and is charged) only when needed. */
export function logical(fc: FnCompiler, e: ExprOf<'and' | 'or'>): Compiled {
  const [l, lc] = fc.expr(e.left);
  const [r0, rc] = fc.expr(e.right);
  const r = charged(r0, rc);
  const isAnd = e.kind === 'and';
  const lp = e.left.pos;
  const rp = e.right.pos;
  return [
    (f) => {
      const a = l(f);
      if (typeof a !== 'boolean') throw mismatchBool(a, lp);
      if (a !== isAnd) return a;
      const b = r(f);
      if (typeof b !== 'boolean') throw mismatchBool(b, rp);
      return b;
    },
    1 + lc,
  ];
}

/** `a ?? b`: `b` runs (and is charged) only when `a` is unit. */
export function coalesce(fc: FnCompiler, e: ExprOf<'coalesce'>, value: boolean): Compiled {
  const [l, lc] = fc.expr(e.left, value);
  const [r0, rc] = fc.expr(e.right, value);
  const r = charged(r0, rc);
  return [
    (f) => {
      const a = l(f);
      return a === undefined ? r(f) : a;
    },
    1 + lc,
  ];
}
