/**
 * Engine value representation.
 *
 * - int: a JS `number` when |v| <= 2^53-1 (canonical), otherwise a `bigint` within i64 range
 * - float: boxed in {@link RFloat} so `1` and `1.0` stay distinguishable
 * - char: boxed in {@link RChar}; string: plain JS string
 * - bool: JS boolean; unit: `undefined`
 * - array: JS Array; object map: JS Map<string, Value>
 * - ranges: {@link RRange}; function pointers/closures: {@link FnPtr}
 */

/** A boxed 64-bit float. */
export class RFloat {
  constructor(readonly v: number) {}
}

/** A boxed single Unicode character (one code point). */
export class RChar {
  constructor(readonly c: string) {}
}

/** An integer range `start..end` or `start..=end`. */
export class RRange {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly inclusive: boolean,
  ) {}
  /** Exclusive upper bound. */
  get endExclusive(): number {
    return this.inclusive ? this.end + 1 : this.end;
  }
}

/** A stepped range produced by `range(from, to, step)` (ints or floats). */
export class RStepRange {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly step: number,
    readonly isFloat: boolean,
  ) {}
}

/** A mutable variable cell shared between a scope and the closures that capture it. */
export class Cell {
  constructor(public v: Value) {}
}

/** Minimal shape of a compiled script function, referenced by function pointers. */
export interface ScriptFnRef {
  readonly name: string;
  readonly params: readonly string[];
}

/** A function pointer (named) or closure (with captured cells). */
export class FnPtr {
  constructor(
    readonly name: string,
    readonly curried: readonly Value[] = [],
    readonly closure?: ScriptFnRef,
    readonly captures?: readonly Cell[],
  ) {}
  get isAnonymous(): boolean {
    return this.name.startsWith('anon$');
  }
}

export type RMap = Map<string, Value>;
export type Value =
  | number
  | bigint
  | boolean
  | string
  | undefined
  | RFloat
  | RChar
  | RRange
  | RStepRange
  | FnPtr
  | Value[]
  | RMap;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
export const I64_MAX = 9223372036854775807n;
export const I64_MIN = -9223372036854775808n;

export function isInt(v: Value): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Canonicalise a bigint already known to be in i64 range. */
export function normBig(b: bigint): number | bigint {
  return b <= 9007199254740991n && b >= -9007199254740991n ? Number(b) : b;
}

export function isMap(v: Value): v is RMap {
  return v instanceof Map;
}

export function typeName(v: Value): string {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 'i64';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return '()';
  }
  if (v instanceof RFloat) return 'f64';
  if (v instanceof RChar) return 'char';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'map';
  if (v instanceof FnPtr) return 'Fn';
  if (v instanceof RRange) return v.inclusive ? 'range=' : 'range';
  if (v instanceof RStepRange) return 'StepRange';
  return '?';
}

/** Deep copy of containers (value semantics); primitives are returned as is. */
export function cloneValue(v: Value): Value {
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return cloneArray(v);
  if (v instanceof Map) return cloneMap(v);
  return v;
}

/** {@link cloneValue} with its scalar check outside the call: compiled ops copy on every store. */
export function cloneIfObject(v: Value): Value {
  return typeof v === 'object' ? cloneValue(v) : v;
}

export function cloneArray(a: readonly Value[]): Value[] {
  const n = a.length;
  const out = new Array<Value>(n);
  for (let i = 0; i < n; i++) {
    const e = a[i];
    out[i] = typeof e === 'object' ? cloneValue(e) : e;
  }
  return out;
}

export function cloneMap(m: RMap): RMap {
  const out: RMap = new Map();
  for (const [k, e] of m) out.set(k, typeof e === 'object' ? cloneValue(e) : e);
  return out;
}

/** Number of characters (code points) in a string. */
export function charLength(s: string): number {
  const n = s.length;
  let surrogates = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) surrogates++;
  }
  return n - surrogates;
}

/** True if the string contains no surrogate pairs (char index == UTF-16 index). */
export function isSimpleString(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return false;
  }
  return true;
}

export function toChars(s: string): string[] {
  return isSimpleString(s) ? s.split('') : Array.from(s);
}

/** Compare strings by Unicode code point (Rust `str` ordering). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export function sortedKeys(m: RMap): string[] {
  return [...m.keys()].sort(compareStrings);
}

/** UTF-8 byte length (Rhai measures string sizes in bytes). */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
