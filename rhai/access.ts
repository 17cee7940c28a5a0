/** Indexing and property access on values (read and write), with Rhai's error kinds. */
import { fail, type Pos } from './errors';
import { unsigned64, type Int } from './int';
import {
  FnPtr,
  isInt,
  isSimpleString,
  normBig,
  RChar,
  RFloat,
  RRange,
  toChars,
  typeName,
  type Value,
} from './values';

function mismatch(actual: string, expected: string, pos: Pos) {
  return fail('ErrorMismatchDataType', `Data type incorrect: ${actual} (expecting ${expected})`, pos);
}

export function arrayBounds(i: number | bigint, len: number, pos: Pos) {
  const what = len === 0 ? 'array is empty' : `only ${len} element${len === 1 ? '' : 's'} in array`;
  return fail('ErrorArrayBounds', `Array index ${i} out of bounds: ${what}`, pos);
}

function stringBounds(i: number | bigint, len: number, pos: Pos) {
  const what = len === 0 ? 'string is empty' : `only ${len} character${len === 1 ? '' : 's'} in string`;
  return fail('ErrorStringBounds', `String index ${i} out of bounds: ${what}`, pos);
}

function bitBounds(i: number | bigint, pos: Pos) {
  return fail('ErrorBitFieldBounds', `Bit-field index ${i} out of bounds: only 64 bits in bit-field`, pos);
}

/** Normalise a (possibly negative) index; -1 when out of range. */
export function normIndex(i: Int, len: number): number {
  const n = Number(i);
  const k = n < 0 ? len + n : n;
  return k >= 0 && k < len ? k : -1;
}

/** Char range [start, end) of a string slice by a range value (Rhai clamping rules). */
export function sliceBounds(r: RRange, len: number): [number, number] {
  const norm = (x: number) => Math.min(Math.max(x < 0 ? len + x : x, 0), len);
  const s = norm(r.start);
  if (r.end === Infinity) return [s, len];
  const e = norm(r.end);
  if (s >= e) return [s, s];
  return [s, Math.min(r.inclusive ? e + 1 : e, len)];
}

/** Bit index 0..63 (negative counts from the top). */
function bitIndex(i: Int, pos: Pos): number {
  const n = Number(i);
  const k = n < 0 ? 64 + n : n;
  if (k < 0 || k >= 64) throw bitBounds(i, pos);
  return k;
}

export function getBits(v: Int, start: Int, len: Int, pos: Pos): Int {
  const s = bitIndex(start, pos);
  let l = Number(len);
  if (l <= 0) return 0;
  if (s + l > 64) l = 64 - s;
  const mask = (1n << BigInt(l)) - 1n;
  return normBig(BigInt.asIntN(64, (unsigned64(v) >> BigInt(s)) & mask));
}

export function setBits(v: Int, start: Int, len: Int, value: Int, pos: Pos): Int {
  const s = bitIndex(start, pos);
  let l = Number(len);
  if (l <= 0) return v;
  if (s + l > 64) l = 64 - s;
  const mask = ((1n << BigInt(l)) - 1n) << BigInt(s);
  const bits = (unsigned64(value) << BigInt(s)) & mask;
  return normBig(BigInt.asIntN(64, (unsigned64(v) & ~mask) | bits));
}

function bitRange(r: RRange, pos: Pos): [number, number] {
  if (r.start < 0 || r.start >= 64) throw bitBounds(r.start, pos);
  const s = r.start;
  if (r.end === Infinity) return [s, 64 - s];
  const endEx = r.inclusive ? r.end + 1 : r.end;
  if (endEx > 64) throw bitBounds(r.end, pos);
  const e = endEx < 0 ? 64 + endEx : endEx;
  return [s, Math.max(e - s, 0)];
}

function charAt(s: string, i: Int, pos: Pos): RChar {
  if (isSimpleString(s)) {
    const k = normIndex(i, s.length);
    if (k < 0) throw stringBounds(i, s.length, pos);
    return new RChar(s[k]);
  }
  const cs = toChars(s);
  const k = normIndex(i, cs.length);
  if (k < 0) throw stringBounds(i, cs.length, pos);
  return new RChar(cs[k]);
}

/** `container[idx]` (reference semantics: no cloning). */
export function indexGet(c: Value, idx: Value, pos: Pos): Value {
  if (Array.isArray(c)) {
    if (!isInt(idx)) throw mismatch(typeName(idx), 'i64', pos);
    const k = normIndex(idx, c.length);
    if (k < 0) throw arrayBounds(idx, c.length, pos);
    return c[k];
  }
  if (c instanceof Map) {
    if (typeof idx === 'string') return c.get(idx);
    if (idx instanceof RChar) return c.get(idx.c);
    throw mismatch(typeName(idx), 'string', pos);
  }
  if (typeof c === 'string') {
    if (isInt(idx)) return charAt(c, idx, pos);
    if (idx instanceof RRange) {
      const cs = toChars(c);
      const [s, e] = sliceBounds(idx, cs.length);
      return cs.slice(s, e).join('');
    }
    throw mismatch(typeName(idx), 'i64', pos);
  }
  if (isInt(c)) {
    if (isInt(idx)) return ((unsigned64(c) >> BigInt(bitIndex(idx, pos))) & 1n) === 1n;
    if (idx instanceof RRange) {
      const [s, l] = bitRange(idx, pos);
      return getBits(c, s, l, pos);
    }
    throw mismatch(typeName(idx), 'i64', pos);
  }
  throw fail('ErrorIndexingType', `Indexer unavailable: ${typeName(c)} [${typeName(idx)}]`, pos);
}

/** `container[idx] = v`; returns the (possibly new, for strings/ints) container. */
export function indexSet(c: Value, idx: Value, v: Value, pos: Pos): Value {
  if (Array.isArray(c)) {
    if (!isInt(idx)) throw mismatch(typeName(idx), 'i64', pos);
    const k = normIndex(idx, c.length);
    if (k < 0) throw arrayBounds(idx, c.length, pos);
    c[k] = v;
    return c;
  }
  if (c instanceof Map) {
    if (typeof idx === 'string') c.set(idx, v);
    else if (idx instanceof RChar) c.set(idx.c, v);
    else throw mismatch(typeName(idx), 'string', pos);
    return c;
  }
  if (typeof c === 'string') {
    const cs = toChars(c);
    if (isInt(idx)) {
      const k = normIndex(idx, cs.length);
      if (k < 0) throw stringBounds(idx, cs.length, pos);
      if (!(v instanceof RChar)) throw mismatch(typeName(v), 'char', pos);
      cs[k] = v.c;
      return cs.join('');
    }
    if (idx instanceof RRange) {
      if (typeof v !== 'string') throw mismatch(typeName(v), 'string', pos);
      const [s, e] = sliceBounds(idx, cs.length);
      return cs.slice(0, s).join('') + v + cs.slice(e).join('');
    }
    throw mismatch(typeName(idx), 'i64', pos);
  }
  if (isInt(c)) {
    if (isInt(idx)) {
      if (typeof v !== 'boolean') throw mismatch(typeName(v), 'bool', pos);
      const bit = bitIndex(idx, pos);
      return setBits(c, bit, 1, v ? 1 : 0, pos);
    }
    if (idx instanceof RRange) {
      if (!isInt(v)) throw mismatch(typeName(v), 'i64', pos);
      const [s, l] = bitRange(idx, pos);
      return setBits(c, s, l, v, pos);
    }
    throw mismatch(typeName(idx), 'i64', pos);
  }
  throw fail('ErrorIndexingType', `Indexer unavailable: ${typeName(c)} [${typeName(idx)}]`, pos);
}

export function unknownProp(name: string, v: Value, pos: Pos) {
  return fail(
    'ErrorDotExpr',
    `Unknown property '${name}' - a getter is not registered for type '${typeName(v)}'`,
    pos,
  );
}

/** Built-in property getters for non-map values; undefined result means "no such getter". */
export function builtinProp(v: Value, name: string): { v: Value } | undefined {
  if (v instanceof FnPtr) {
    if (name === 'name') return { v: v.name };
    if (name === 'is_anonymous') return { v: v.isAnonymous };
  }
  if (v instanceof RRange) {
    switch (name) {
      case 'start':
        return { v: v.start };
      case 'end':
        return { v: v.end };
      case 'is_inclusive':
        return { v: v.inclusive };
      case 'is_exclusive':
        return { v: !v.inclusive };
      case 'is_empty':
        return { v: v.inclusive ? v.start > v.end : v.start >= v.end };
    }
  }
  if (v instanceof RFloat && name === 'is_nan') return { v: Number.isNaN(v.v) };
  return undefined;
}
