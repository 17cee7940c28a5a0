/** Object map built-ins. */
import { fail } from '../errors';
import { toJson } from '../json';
import {
  addDelta,
  checkDataSize,
  limitArray,
  mergeDelta,
  removeDelta,
  replaceDelta,
  reserve,
  utf8Length,
} from '../sizes';
import { cloneValue, FnPtr, RChar, sortedKeys, typeName, type RMap, type Value } from '../values';
import { type Builtin, type CallCx, noMatch } from './registry';

function map(fn: (m: RMap, args: Value[], cx: CallCx) => Value): Builtin {
  return (args, cx) => (args[0] instanceof Map ? fn(args[0], args, cx) : noMatch());
}

function key(v: Value): string {
  if (typeof v === 'string') return v;
  if (v instanceof RChar) return v.c;
  return noMatch();
}

function pred(m: RMap, fp: FnPtr, cx: CallCx): [string[], string[]] {
  const yes: string[] = [];
  const no: string[] = [];
  for (const k of sortedKeys(m)) {
    const r = cx.callFn(fp, [k, cloneValue(m.get(k))]);
    if (typeof r !== 'boolean')
      throw fail('ErrorMismatchDataType', `Data type incorrect: ${typeName(r)} (expecting bool)`, cx.pos);
    (r ? yes : no).push(k);
  }
  return [yes, no];
}

export const MAPS: Record<string, Builtin> = {
  len: map((m) => m.size),
  is_empty: map((m) => m.size === 0),
  contains: map((m, a) => (a.length === 2 ? m.has(key(a[1])) : noMatch())),
  get: map((m, a) => (a.length === 2 ? cloneValue(m.get(key(a[1]))) : noMatch())),
  set: map((m, a, cx) => {
    if (a.length !== 3) return noMatch();
    const k = key(a[1]);
    if (cx.rt.limited) {
      const d = m.has(k) ? replaceDelta(m.get(k), a[2], cx.rt) : addDelta(a[2], 0, 1, utf8Length(k), cx.rt);
      reserve(cx.rt, m, cx.root, d, cx.pos);
    }
    m.set(k, a[2]);
    return undefined;
  }),
  remove: map((m, a, cx) => {
    if (a.length !== 2) return noMatch();
    const k = key(a[1]);
    if (!m.has(k)) return undefined;
    const v = m.get(k);
    if (cx.rt.limited) reserve(cx.rt, m, cx.root, removeDelta(v, 0, 1, utf8Length(k), cx.rt));
    m.delete(k);
    return v;
  }),
  clear: map((m, _a, cx) => {
    if (cx.rt.limited) reserve(cx.rt, m, cx.root, removeDelta(m, 0, 0, 0, cx.rt));
    m.clear();
    return undefined;
  }),
  keys: map((m, _a, cx) => {
    limitArray(cx.rt, m.size, cx.pos);
    return sortedKeys(m);
  }),
  values: map((m, _a, cx) => {
    limitArray(cx.rt, m.size, cx.pos);
    const out = sortedKeys(m).map((k) => cloneValue(m.get(k)));
    checkDataSize(cx.rt, out, cx.pos);
    return out;
  }),
  mixin: map((m, a, cx) => {
    const b = a[1];
    if (!(b instanceof Map)) return noMatch();
    if (cx.rt.limited) reserve(cx.rt, m, cx.root, mergeDelta(m, b, false, cx.rt), cx.pos);
    for (const [k, v] of b) m.set(k, cloneValue(v));
    return undefined;
  }),
  fill_with: map((m, a, cx) => {
    const b = a[1];
    if (!(b instanceof Map)) return noMatch();
    if (cx.rt.limited) reserve(cx.rt, m, cx.root, mergeDelta(m, b, true, cx.rt), cx.pos);
    for (const [k, v] of b) if (!m.has(k)) m.set(k, cloneValue(v));
    return undefined;
  }),
  filter: map((m, a, cx) => {
    if (!(a[1] instanceof FnPtr)) return noMatch();
    const [yes] = pred(m, a[1], cx);
    return new Map(yes.map((k) => [k, cloneValue(m.get(k))]));
  }),
  drain: map((m, a, cx) => {
    if (!(a[1] instanceof FnPtr)) return noMatch();
    const [yes] = pred(m, a[1], cx);
    const out: RMap = new Map();
    for (const k of yes) {
      out.set(k, m.get(k));
      m.delete(k);
    }
    return out;
  }),
  retain: map((m, a, cx) => {
    if (!(a[1] instanceof FnPtr)) return noMatch();
    const [, no] = pred(m, a[1], cx);
    const out: RMap = new Map();
    for (const k of no) {
      out.set(k, m.get(k));
      m.delete(k);
    }
    return out;
  }),
  to_json: map((m, _a, cx) => cx.rt.checkString(JSON.stringify(toJson(m)), cx.pos)),
};
