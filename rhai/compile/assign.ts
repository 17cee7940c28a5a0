/**
 * Assignment (Rhai: `eval/stmt.rs` op-assignment, `eval/target.rs`): `x = v`, `x[i].k = v`,
 * `x op= v`. Writes go through a {@link Place} (places.ts). When the run has size limits,
 * an element write into a variable-held container is accounted by its size change
 * (sizes.ts `reserve`); any other write re-checks the variable's whole value.
 */
import { indexGet, indexSet, unknownProp } from '../access';
import type { Expr, StmtOf } from '../ast';
import { fail, type Pos, RhaiFailure } from '../errors';
import { display } from '../format';
import { binaryOp } from '../operators';
import type { Frame, Op } from '../runtime';
import {
  addDelta,
  checkDataSize,
  type Container,
  isContainer,
  limitString,
  mergeDelta,
  replaceDelta,
  reserve,
  type Sizes,
  sizesOf,
  utf8Length,
} from '../sizes';
import { RChar, type Value } from '../values';
import { charged } from './charge';
import type { FnCompiler } from './context';
import { placeOf, rootReader, varPlaceOf } from './places';

/** Largest safe integer: a sum within it is exact (a literal: constant-folded in the hot path). */
const MAX = 9007199254740991;

/** `target = value` and `target op= value`, with size accounting when the run has size limits. */
export function assign(fc: FnCompiler, s: StmtOf<'assign'>): Op {
  const place = placeOf(fc, s.target);
  const [val, vcost] = fc.expr(s.value, true);
  const cost = 1 + vcost + 1 + placeCost(fc, s.target);
  const pos = s.pos;
  const constRoot = place.constRoot;
  const nested = s.target.kind === 'index' || s.target.kind === 'prop';
  const rootGet = nested ? rootReader(fc, s.target) : undefined;
  const direct = nested ? directElement(fc, s.target) : undefined;
  if (s.op === '=') {
    if (place.isVar) {
      const set = place.set;
      return charged((f) => {
        set(f, val(f));
        return undefined;
      }, cost);
    }
    const { set } = place;
    return charged((f) => {
      const v = val(f);
      if (constRoot) {
        const c = constRoot(f);
        if (c !== undefined)
          throw fail('ErrorAssignmentToConstant', `Cannot modify constant ${c}`, s.target.pos);
      }
      const rt = f.rt;
      if (!rt.limited) {
        set(f, v);
        return undefined;
      }
      if (direct) {
        // `x[k] = v` / `x.k = v` on a variable-held container: accounted by its delta
        direct(f, v);
        return undefined;
      }
      set(f, v);
      rt.epoch++;
      checkDataSize(rt, v, pos);
      checkDataSize(rt, rootGet!(f), pos);
      return undefined;
    }, cost);
  }
  const op = s.op.slice(0, -1);
  const { get, set } = place;
  // Specialised `local -= int`-style compound assignment (hot in loops).
  if (place.isVar && s.target.kind === 'var' && (op === '+' || op === '-')) {
    const d = fc.res.varRef.get(s.target);
    if (d && !d.captured && !d.isCapture) {
      const slot = d.index;
      const sub = op === '-';
      return charged((f) => {
        const a = f.s[slot];
        const b = val(f);
        if (typeof a === 'number' && typeof b === 'number') {
          const r = sub ? a - b : a + b;
          if (r <= MAX && r >= -MAX) {
            f.s[slot] = r;
            return undefined;
          }
        }
        f.s[slot] = compound(f, op, a, b, pos, typeof a === 'object' && isContainer(a) ? a : undefined);
        return undefined;
      }, cost);
    }
  }
  const isVarTarget = s.target.kind === 'var';
  return charged((f) => {
    const b = val(f);
    if (constRoot && !place.isVar) {
      const c = constRoot(f);
      if (c !== undefined)
        throw fail('ErrorAssignmentToConstant', `Cannot modify constant ${c}`, s.target.pos);
    }
    const a = get(f);
    const rt = f.rt;
    if (!rt.limited || !nested) {
      // a variable's own container grows in place, accounted against itself
      const r = compound(f, op, a, b, pos, isVarTarget && isContainer(a) ? a : undefined);
      if (r !== a || !place.isVar) set(f, r);
      return undefined;
    }
    // an element: `m.n += 1`, `m.list += [x]`, `m.s += "x"`
    const root = rootGet!(f);
    const tracked = direct !== undefined && isContainer(root);
    if (isContainer(a)) {
      // grown in place: accounted against the root (or checked on its own) before it grows
      const r = compound(f, op, a, b, pos, tracked ? (root as Container) : undefined);
      set(f, r);
      if (!tracked) checkDataSize(rt, root, pos);
      return undefined;
    }
    const r = compound(f, op, a, b, pos, undefined);
    if (tracked) {
      if (typeof a === 'string' || typeof r === 'string' || isContainer(r))
        reserve(rt, root as Container, root as Container, replaceDelta(a, r, rt), pos);
      set(f, r);
      return undefined;
    }
    set(f, r);
    rt.epoch++;
    checkDataSize(rt, root, pos);
    return undefined;
  }, cost);
}

/**
 * For `x[k] = v` / `x.k = v` where `x` is a variable holding an array or map: an op that
 * sets the element and accounts the change (new minus old) against `x`'s cached size,
 * before setting it. Anything else (strings, bit fields, deeper places) falls back to
 * set-then-check-the-root.
 */
function directElement(fc: FnCompiler, target: Expr): ((f: Frame, v: Value) => void) | undefined {
  if ((target.kind !== 'index' && target.kind !== 'prop') || target.target.kind !== 'var') return undefined;
  const rootPlace = varPlaceOf(fc, target.target);
  const pos = target.pos;
  const safe = target.safe;
  const setRoot = rootPlace.set;
  const getRoot = rootPlace.get;
  if (target.kind === 'prop') {
    const name = target.name;
    return (f, v) => {
      const c = getRoot(f);
      if (safe && c === undefined) return;
      if (!(c instanceof Map)) throw unknownProp(name, c, pos);
      const rt = f.rt;
      const d = c.has(name) ? replaceDelta(c.get(name), v, rt) : addDelta(v, 0, 1, utf8Length(name), rt);
      reserve(rt, c, c, d, pos);
      c.set(name, v);
    };
  }
  const [idx] = fc.expr(target.index);
  return (f, v) => {
    const c = getRoot(f);
    if (safe && c === undefined) return;
    const k = idx(f);
    const rt = f.rt;
    if (Array.isArray(c) || c instanceof Map) {
      const old = Array.isArray(c) ? indexGet(c, k, pos) : undefined; // bounds/type errors first
      let d: Sizes;
      if (Array.isArray(c)) d = replaceDelta(old, v, rt);
      else {
        const key = typeof k === 'string' ? k : k instanceof RChar ? k.c : undefined;
        if (key === undefined) {
          indexSet(c, k, v, pos); // the type error
          return;
        }
        d = c.has(key) ? replaceDelta(c.get(key), v, rt) : addDelta(v, 0, 1, utf8Length(key), rt);
      }
      reserve(rt, c, c, d, pos);
      indexSet(c, k, v, pos);
      return;
    }
    const n = indexSet(c, k, v, pos);
    if (n !== c) setRoot(f, n);
    checkDataSize(rt, n, pos);
  };
}

/** Static cost of a place's index expressions (evaluated on every assignment). */
function placeCost(fc: FnCompiler, e: Expr): number {
  if (e.kind === 'index') return placeCost(fc, e.target) + fc.expr(e.index)[1];
  if (e.kind === 'prop') return placeCost(fc, e.target);
  return 0;
}

/**
 * `a op= b`. `+=` on arrays appends, on maps merges (in place, accounted before growing:
 * against `root`, the variable-held container `a` is or belongs to, when known); elsewhere
 * `x = x op y`.
 */
function compound(f: Frame, op: string, a: Value, b: Value, pos: Pos, root: Container | undefined): Value {
  const rt = f.rt;
  if (op === '+') {
    if (Array.isArray(a)) {
      if (rt.limited) reserve(rt, a, root, Array.isArray(b) ? sizesOf(b, rt) : addDelta(b, 1, 0, 0, rt), pos);
      if (Array.isArray(b)) for (const x of b) a.push(x);
      else a.push(b);
      return a;
    }
    if (a instanceof Map && b instanceof Map) {
      if (rt.limited) reserve(rt, a, root, mergeDelta(a, b, false, rt), pos);
      for (const [k, v] of b) a.set(k, v);
      return a;
    }
    if (typeof a === 'string') {
      const t = display(b);
      if (rt.limited) limitString(rt, a.length + t.length, pos);
      return rt.checkString(a + t, pos);
    }
  }
  try {
    const r = binaryOp(op, a, b);
    if (typeof r === 'string') f.rt.checkString(r, pos);
    return r;
  } catch (e) {
    if (e instanceof RhaiFailure) e.at(pos);
    throw e;
  }
}
