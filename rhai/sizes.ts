/**
 * Data-size accounting for the engine's size limits (SUBSET.md §11).
 *
 * A value's size is counted recursively, as Rhai does: array elements, object map properties
 * and string bytes, where string bytes include the UTF-8 bytes of map *keys* (a map with one
 * 1 MiB key is as large as a 1 MiB string). Every built-in that creates or grows a value asks
 * this module first ({@link limitArray}, {@link limitString}, {@link reserve}) so nothing is
 * allocated past a limit; the error is Rhai's own `ErrorDataTooLarge`.
 *
 * Growing a container held directly by a variable (`a.push(x)`, `m[k] = v`, `a += b`) costs
 * only the size of what is added: the run keeps the last known size of such *root* containers
 * (`Runtime.sizeCache`), valid while no other container was mutated since (`Runtime.epoch`,
 * bumped by every mutation this module does not account for). Values have copy semantics,
 * so a root container is never also stored inside another one, and a cached size can only be
 * out of date through a mutation that bumped the epoch.
 */
import { fail, type Pos } from './errors';
import type { Runtime } from './runtime';
import { FnPtr, type RMap, type Value } from './values';

/** Error texts as Rhai displays `ErrorDataTooLarge` ("{typ} too large"). */
export const TOO_LARGE_ARRAY = 'Size of array/BLOB too large';
export const TOO_LARGE_MAP = 'Size of object map too large';
export const TOO_LARGE_STRING = 'Length of string too large';

/** How many nodes a size scan visits between two looks at the run's deadline. */
const CLOCK_EVERY = 1 << 16;

/** Recursive sizes of a value; also the cache entry of a root container. */
export interface Sizes {
  /** array elements */
  a: number;
  /** object map properties */
  m: number;
  /** UTF-8 bytes of strings and map keys */
  s: number;
}

interface CacheEntry extends Sizes {
  epoch: number;
}

export type Container = Value[] | RMap;

export function isContainer(v: Value): v is Container {
  return Array.isArray(v) || v instanceof Map;
}

export function tooLargeArray(pos?: Pos) {
  return fail('ErrorDataTooLarge', TOO_LARGE_ARRAY, pos);
}
export function tooLargeMap(pos?: Pos) {
  return fail('ErrorDataTooLarge', TOO_LARGE_MAP, pos);
}
export function tooLargeString(pos?: Pos) {
  return fail('ErrorDataTooLarge', TOO_LARGE_STRING, pos);
}

/** UTF-8 length of a JS string without allocating (unpaired surrogates count 3, as U+FFFD). */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, 'utf8');
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 2 UTF-16 units → 4 bytes
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Scan state: running totals plus a node counter for the deadline. */
class Scan implements Sizes {
  a = 0;
  m = 0;
  s = 0;
  nodes = 0;
  constructor(
    readonly rt: Runtime | undefined,
    readonly pos: Pos | undefined,
    /** stop (throw) as soon as a total is over its limit */
    readonly early: boolean,
  ) {}

  str(v: string): void {
    if (v.length === 0) return;
    this.s += utf8Length(v);
    if (this.early && this.s > this.rt!.maxString) throw tooLargeString(this.pos);
  }

  visit(v: Value): void {
    if (typeof v === 'string') return this.str(v);
    if (typeof v !== 'object') return;
    if (Array.isArray(v)) {
      this.a += v.length;
      if (this.early && this.a > this.rt!.maxArray) throw tooLargeArray(this.pos);
      this.tick(v.length);
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        if (typeof e === 'object' || typeof e === 'string') this.visit(e);
      }
    } else if (v instanceof FnPtr) {
      // curried arguments are held like array elements (`f.curry(big)` in a loop must not grow
      // without bound); a closure's captured variables are variables, not counted here
      const c = v.curried;
      if (c.length === 0) return;
      this.a += c.length;
      if (this.early && this.a > this.rt!.maxArray) throw tooLargeArray(this.pos);
      for (const e of c) if (typeof e === 'object' || typeof e === 'string') this.visit(e);
    } else if (v instanceof Map) {
      this.m += v.size;
      if (this.early && this.m > this.rt!.maxMap) throw tooLargeMap(this.pos);
      this.tick(v.size);
      for (const [k, e] of v) {
        this.str(k);
        if (typeof e === 'object' || typeof e === 'string') this.visit(e);
      }
    }
  }

  /** A long scan still stops at the run's deadline (the clock is looked at every 64 K nodes). */
  private tick(n: number): void {
    this.nodes += n + 1;
    if (this.nodes >= CLOCK_EVERY && this.rt !== undefined) {
      this.nodes = 0;
      this.rt.checkClock(this.pos);
    }
  }
}

/** Recursive sizes of `v` (no limit applied). */
export function sizesOf(v: Value, rt?: Runtime): Sizes {
  const scan = new Scan(rt, undefined, false);
  scan.visit(v);
  return { a: scan.a, m: scan.m, s: scan.s };
}

function over(rt: Runtime, a: number, m: number, s: number, pos?: Pos): void {
  if (a > rt.maxArray) throw tooLargeArray(pos);
  if (m > rt.maxMap) throw tooLargeMap(pos);
  if (s > rt.maxString) throw tooLargeString(pos);
}

/** Throw ErrorDataTooLarge if a value (recursively) exceeds the run's limits. */
export function checkDataSize(rt: Runtime, v: Value, pos?: Pos): void {
  if (!rt.limited) return;
  if (typeof v === 'string') {
    rt.checkString(v, pos);
    return;
  }
  if (typeof v !== 'object') return;
  new Scan(rt, pos, true).visit(v);
}

/** Throw before building an array of `n` elements past the array limit. */
export function limitArray(rt: Runtime, n: number, pos?: Pos): void {
  if (n > rt.maxArray) throw tooLargeArray(pos);
}

/** Throw before building a string of (at least) `units` UTF-16 code units past the string limit. */
export function limitString(rt: Runtime, units: number, pos?: Pos): void {
  // a UTF-16 unit is at least one UTF-8 byte
  if (units > rt.maxString) throw tooLargeString(pos);
}

/** The current sizes of container `c`: the cached ones of a root, or a scan. */
function current(rt: Runtime, c: Container, root: Container | undefined, pos?: Pos): Sizes {
  if (root !== undefined) {
    const e = rt.sizeCache.get(root);
    if (e !== undefined && e.epoch === rt.epoch) return { a: e.a, m: e.m, s: e.s };
  }
  const scan = new Scan(rt, pos, false);
  scan.visit(root ?? c);
  return scan;
}

/**
 * Account for growing container `c` by `d` (may be negative), BEFORE the mutation: throws
 * ErrorDataTooLarge when the result would be over a limit, else returns so the caller mutates.
 *
 * `root` is the variable-held container `c` belongs to: `c` itself, or `c`'s direct parent
 * (`m.list.push(x)`), or undefined when the mutation cannot be accounted here (then the
 * caller bumps the epoch and the compiler re-checks the root). With a root, its cached size
 * is updated, so the next growth costs only its delta. Without one, the epoch is bumped.
 */
export function reserve(rt: Runtime, c: Container, root: Container | undefined, d: Sizes, pos?: Pos): void {
  if (!rt.limited) return;
  // not accounted against a root: every cached size may now be out of date
  if (root === undefined) rt.epoch++;
  const cur = current(rt, c, root, pos);
  const a = cur.a + d.a;
  const m = cur.m + d.m;
  const s = cur.s + d.s;
  over(rt, a, m, s, pos);
  if (root === undefined) return;
  if (root !== c) rt.sizeCache.delete(c);
  const e = rt.sizeCache.get(root);
  if (e !== undefined) {
    e.a = a;
    e.m = m;
    e.s = s;
    e.epoch = rt.epoch;
  } else rt.sizeCache.set(root, { a, m, s, epoch: rt.epoch } satisfies CacheEntry);
}

/** Delta of adding one element/property holding `v` (plus a key of `keyBytes`). */
export function addDelta(v: Value, arrays: number, maps: number, keyBytes: number, rt?: Runtime): Sizes {
  const d = typeof v === 'object' || typeof v === 'string' ? sizesOf(v, rt) : { a: 0, m: 0, s: 0 };
  d.a += arrays;
  d.m += maps;
  d.s += keyBytes;
  return d;
}

/** Delta of replacing `old` by `v` in place. */
export function replaceDelta(old: Value, v: Value, rt?: Runtime): Sizes {
  const d = addDelta(v, 0, 0, 0, rt);
  if (typeof old === 'object' || typeof old === 'string') {
    const o = sizesOf(old, rt);
    d.a -= o.a;
    d.m -= o.m;
    d.s -= o.s;
  }
  return d;
}

/** Delta of merging map `b` into map `m` (new keys add a property and their bytes). */
export function mergeDelta(m: RMap, b: RMap, onlyMissing: boolean, rt?: Runtime): Sizes {
  const d: Sizes = { a: 0, m: 0, s: 0 };
  for (const [k, v] of b) {
    const had = m.has(k);
    if (had && onlyMissing) continue;
    const x = had ? replaceDelta(m.get(k), v, rt) : addDelta(v, 0, 1, utf8Length(k), rt);
    d.a += x.a;
    d.m += x.m;
    d.s += x.s;
  }
  return d;
}

/** Running sizes of a container built element by element (`map`, `zip`): over a limit, it throws at once. */
export class Growth {
  private readonly acc: Sizes = { a: 0, m: 0, s: 0 };
  constructor(
    private readonly rt: Runtime,
    private readonly pos?: Pos,
  ) {}

  /** Count one more element holding `v`. */
  add(v: Value): void {
    const rt = this.rt;
    if (!rt.limited) return;
    const acc = this.acc;
    acc.a++;
    if (typeof v === 'object' || typeof v === 'string') {
      const d = sizesOf(v, rt);
      acc.a += d.a;
      acc.m += d.m;
      acc.s += d.s;
    }
    over(rt, acc.a, acc.m, acc.s, this.pos);
  }
}

/** The negative delta of removing `v` (one element or property, plus `keyBytes`) from a container. */
export function removeDelta(v: Value, arrays: number, maps: number, keyBytes: number, rt?: Runtime): Sizes {
  const d = addDelta(v, arrays, maps, keyBytes, rt);
  d.a = -d.a;
  d.m = -d.m;
  d.s = -d.s;
  return d;
}
