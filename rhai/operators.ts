import { fail, type Pos, type RhaiFailure } from './errors';
import { display } from './format';
import {
  type Int,
  intAdd,
  intAnd,
  intDiv,
  intMul,
  intOr,
  intPow,
  intRem,
  intShl,
  intShr,
  intSub,
  intXor,
} from './int';
import {
  cloneArray,
  cloneMap,
  cloneValue,
  compareStrings,
  FnPtr,
  isInt,
  RChar,
  RFloat,
  RRange,
  RStepRange,
  typeName,
  type Value,
} from './values';

const EPS = 2.220446049250313e-16;

export function fnNotFound(name: string, args: readonly Value[]): RhaiFailure {
  return fail('ErrorFunctionNotFound', `Function not found: ${name} (${args.map(typeName).join(', ')})`);
}

/** A condition or `&&` / `||` operand that is not a bool. */
export function mismatchBool(v: Value, pos: Pos): RhaiFailure {
  return fail('ErrorMismatchDataType', `Data type incorrect: ${typeName(v)} (expecting bool)`, pos);
}

export function toF(v: number | bigint | RFloat): number {
  return typeof v === 'object' ? v.v : Number(v);
}

function isNum(v: Value): v is number | bigint | RFloat {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof RFloat;
}

/** Rhai's epsilon-based float comparison; returns d (NaN when incomparable). */
function floatDiff(x: number, y: number): number {
  const m = x * y === 0 ? 1 : Math.max(Math.abs(x), Math.abs(y));
  return (x - y) / m;
}

function textOf(v: Value): string | undefined {
  return typeof v === 'string' ? v : v instanceof RChar ? v.c : undefined;
}

/** `==` semantics (never throws except for function pointers). */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b && typeof a !== 'object') return true;
  if (isInt(a) && isInt(b)) return a === b;
  if (isNum(a) && isNum(b)) return Math.abs(floatDiff(toF(a), toF(b))) <= EPS;
  const ta = textOf(a);
  if (ta !== undefined) {
    const tb = textOf(b);
    return tb !== undefined && ta === tb;
  }
  if (a === undefined || typeof a === 'boolean') return a === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !valuesEqual(v, b.get(k))) return false;
    }
    return true;
  }
  if (a instanceof RRange)
    return b instanceof RRange && a.start === b.start && a.end === b.end && a.inclusive === b.inclusive;
  if (a instanceof FnPtr && b instanceof FnPtr) throw fnNotFound('==', [a, b]);
  return false;
}

/** Strict (type-sensitive, exact) equality used by `switch`. */
export function strictEqual(a: Value, b: Value): boolean {
  if (typeName(a) !== typeName(b)) return false;
  if (a instanceof RFloat) return a.v === (b as RFloat).v;
  if (a instanceof RChar) return a.c === (b as RChar).c;
  if (Array.isArray(a)) {
    const bb = b as Value[];
    return a.length === bb.length && a.every((x, i) => strictEqual(x, bb[i]));
  }
  if (a instanceof Map) {
    const bm = b as Map<string, Value>;
    if (a.size !== bm.size) return false;
    for (const [k, v] of a) if (!bm.has(k) || !strictEqual(v, bm.get(k))) return false;
    return true;
  }
  if (a instanceof RRange) return valuesEqual(a, b);
  return a === b;
}

type Cmp = '<' | '<=' | '>' | '>=';

/** Ordering comparisons; mixed types give false. */
export function compareValues(op: Cmp, a: Value, b: Value): boolean {
  if (isInt(a) && isInt(b)) {
    switch (op) {
      case '<':
        return a < b;
      case '<=':
        return a <= b;
      case '>':
        return a > b;
      case '>=':
        return a >= b;
    }
  }
  if (isNum(a) && isNum(b)) {
    const d = floatDiff(toF(a), toF(b));
    switch (op) {
      case '<':
        return -d > EPS;
      case '<=':
        return -d > -EPS;
      case '>':
        return d > EPS;
      case '>=':
        return d > -EPS;
    }
  }
  const ta = textOf(a);
  const tb = textOf(b);
  if (ta !== undefined && tb !== undefined) {
    const c = compareStrings(ta, tb);
    return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
  }
  if (typeName(a) === typeName(b) && typeof a !== 'boolean' && a !== undefined) throw fnNotFound(op, [a, b]);
  if (typeof a === 'boolean' && typeof b === 'boolean') {
    const x = Number(a);
    const y = Number(b);
    return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
  }
  return false;
}

function floatOp(op: string, x: number, y: number): RFloat {
  switch (op) {
    case '+':
      return new RFloat(x + y);
    case '-':
      return new RFloat(x - y);
    case '*':
      return new RFloat(x * y);
    case '/':
      return new RFloat(x / y);
    case '%':
      return new RFloat(x % y);
    case '**':
      return new RFloat(x ** y);
  }
  throw new Error('bad float op');
}

function removeAll(s: string, sub: string): string {
  return sub === '' ? s : s.split(sub).join('');
}

/** Generic (slow path) binary operator. Errors carry no position (Rhai behaviour). */
export function binaryOp(op: string, a: Value, b: Value): Value {
  if (isInt(a) && isInt(b)) {
    switch (op) {
      case '+':
        return intAdd(a, b);
      case '-':
        return intSub(a, b);
      case '*':
        return intMul(a, b);
      case '/':
        return intDiv(a, b);
      case '%':
        return intRem(a, b);
      case '**':
        return intPow(a, b);
      case '<<':
        return intShl(a, b);
      case '>>':
        return intShr(a, b);
      case '&':
        return intAnd(a, b);
      case '|':
        return intOr(a, b);
      case '^':
        return intXor(a, b);
    }
  }
  switch (op) {
    case '==':
      return valuesEqual(a, b);
    case '!=': {
      if (isNum(a) && isNum(b) && !(isInt(a) && isInt(b))) {
        return Math.abs(floatDiff(toF(a), toF(b))) > EPS;
      }
      return !valuesEqual(a, b);
    }
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compareValues(op, a, b);
    case 'in':
      return containsOp(b, a);
    case '!in':
      return !containsOp(b, a);
  }
  if (
    isNum(a) &&
    isNum(b) &&
    (op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '**')
  ) {
    return floatOp(op, toF(a), toF(b));
  }
  if (op === '+') {
    if (typeof a === 'string') return a + display(b);
    if (typeof b === 'string') return display(a) + b;
    if (a instanceof RChar && b instanceof RChar) return a.c + b.c;
    if (Array.isArray(a) && Array.isArray(b)) return cloneArray(a).concat(cloneArray(b));
    if (a instanceof Map && b instanceof Map) {
      const m = cloneMap(a);
      for (const [k, v] of b) m.set(k, cloneValue(v));
      return m;
    }
  }
  if (op === '-' && typeof a === 'string') {
    const t = textOf(b);
    if (t !== undefined) return removeAll(a, t);
  }
  if ((op === '&' || op === '|' || op === '^') && typeof a === 'boolean' && typeof b === 'boolean') {
    return op === '&' ? a && b : op === '|' ? a || b : a !== b;
  }
  throw fnNotFound(op, [a, b]);
}

/** `needle in haystack`. */
export function containsOp(hay: Value, needle: Value): boolean {
  if (Array.isArray(hay)) {
    for (const e of hay) if (valuesEqual(e, needle)) return true;
    return false;
  }
  if (hay instanceof Map) {
    if (typeof needle === 'string') return hay.has(needle);
    if (needle instanceof RChar) return hay.has(needle.c);
    throw fnNotFound('contains', [hay, needle]);
  }
  if (typeof hay === 'string') {
    const t = textOf(needle);
    if (t !== undefined) return hay.includes(t);
    throw fnNotFound('contains', [hay, needle]);
  }
  if (hay instanceof RRange && isInt(needle)) {
    const n = Number(needle);
    return n >= hay.start && (hay.inclusive ? n <= hay.end : n < hay.end);
  }
  if (hay instanceof RStepRange && isNum(needle)) {
    const n = toF(needle);
    return hay.step > 0 ? n >= hay.from && n < hay.to : n <= hay.from && n > hay.to;
  }
  throw fnNotFound('contains', [hay, needle]);
}

export function asInt(v: Value): Int | undefined {
  return isInt(v) ? v : undefined;
}
