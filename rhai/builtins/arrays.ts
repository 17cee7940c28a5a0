/** Array built-ins. Mutators change `args[0]` in place. */
import { fail } from '../errors';
import { compareValues, valuesEqual } from '../operators';
import { addDelta, Growth, removeDelta, replaceDelta, reserve, sizesOf, type Sizes } from '../sizes';
import { cloneValue, FnPtr, isInt, RChar, RFloat, RRange, typeName, type Value } from '../values';
import { callBack, callWithThis } from './callbacks';
import { type Builtin, type CallCx, noMatch } from './registry';

function arr(fn: (a: Value[], args: Value[], cx: CallCx) => Value): Builtin {
  return (args, cx) => (Array.isArray(args[0]) ? fn(args[0], args, cx) : noMatch());
}

function fnArg(v: Value): FnPtr {
  return v instanceof FnPtr ? v : noMatch();
}

function truthy(v: Value, cx: CallCx): boolean {
  if (typeof v !== 'boolean')
    throw fail('ErrorMismatchDataType', `Data type incorrect: ${typeName(v)} (expecting bool)`, cx.pos);
  return v;
}

/** Clamp (start, len) over an array of length n (negative start counts from the end). */
function span(n: number, start: number, len: number): [number, number] {
  const s = start < 0 ? Math.max(n + start, 0) : Math.min(start, n);
  const l = Math.max(Math.min(len, n - s), 0);
  return [s, s + l];
}

function rangeSpan(n: number, r: RRange): [number, number] {
  const start = Math.max(r.start, 0);
  const end = r.end === Infinity ? n : r.inclusive ? r.end + 1 : r.end;
  return span(n, start, Math.max(end - start, 0));
}

function spanArgs(a: Value[], args: Value[], from: number): [number, number] | undefined {
  const x = args[from];
  if (x instanceof RRange) return rangeSpan(a.length, x);
  if (isInt(x) && args.length === from + 1) return span(a.length, Number(x), a.length);
  if (isInt(x) && isInt(args[from + 1])) return span(a.length, Number(x), Number(args[from + 1]));
  return undefined;
}

/**
 * `a.splice(start, del, ...items)` without spreading: a spread of 100,000 arguments
 * overflows the JS stack.
 */
function replaceSpan(a: Value[], start: number, del: number, items: readonly Value[]): Value[] {
  const removed = a.slice(start, start + del);
  const tail = a.slice(start + del);
  a.length = start;
  for (const x of items) a.push(x);
  for (const x of tail) a.push(x);
  return removed;
}

/** Sizes of the elements `a[from..to)` (their count included). */
function spanSizes(a: Value[], from: number, to: number, cx: CallCx): Sizes {
  const d: Sizes = { a: to - from, m: 0, s: 0 };
  for (let i = from; i < to; i++) {
    const e = a[i];
    if (typeof e === 'object' || typeof e === 'string') {
      const x = sizesOf(e, cx.rt);
      d.a += x.a;
      d.m += x.m;
      d.s += x.s;
    }
  }
  return d;
}

function predicateIndex(a: Value[], fp: FnPtr, start: number, cx: CallCx): number {
  for (let i = start; i < a.length; i++) if (truthy(callBack(cx, fp, a[i], [], [i], true).r, cx)) return i;
  return -1;
}

function sortKey(a: Value[]): string {
  const types = new Set(a.map((v) => (isInt(v) ? 'i64' : typeName(v))));
  if (types.size > 1) throw fail('ErrorFunctionNotFound', 'elements of different types cannot be sorted');
  return [...types][0] ?? 'i64';
}

function naturalSort(a: Value[], desc: boolean): void {
  if (a.length < 2) return;
  const t = sortKey(a);
  if (t === 'i64' && a.every((v) => typeof v === 'number')) {
    const typed = Float64Array.from(a as number[]).sort();
    for (let i = 0; i < typed.length; i++) a[i] = typed[desc ? typed.length - 1 - i : i];
    return;
  }
  const cmp = (x: Value, y: Value): number => {
    if (t === 'f64') return (x as RFloat).v - (y as RFloat).v;
    if (t === 'bool') return Number(x) - Number(y);
    if (t === 'char' || t === 'string' || t === 'i64')
      return compareValues('<', x, y) ? -1 : compareValues('>', x, y) ? 1 : 0;
    throw fail('ErrorFunctionNotFound', `elements of type ${t} cannot be sorted`);
  };
  a.sort(desc ? (x, y) => cmp(y, x) : cmp);
}

function sortBy(a: Value[], fp: FnPtr, cx: CallCx): void {
  a.sort((x, y) => {
    const r = cx.callFn(fp, [cloneValue(x), cloneValue(y)]);
    if (!isInt(r))
      throw fail('ErrorMismatchDataType', `Data type incorrect: ${typeName(r)} (expecting i64)`, cx.pos);
    return Number(r);
  });
}

export const ARRAYS: Record<string, Builtin> = {
  len: arr((a) => a.length),
  is_empty: arr((a) => a.length === 0),
  get: arr((a, args) => {
    if (args.length !== 2 || !isInt(args[1])) return noMatch();
    const n = Number(args[1]);
    const k = n < 0 ? a.length + n : n;
    return k >= 0 && k < a.length ? cloneValue(a[k]) : undefined;
  }),
  set: arr((a, args, cx) => {
    if (args.length !== 3 || !isInt(args[1])) return noMatch();
    const n = Number(args[1]);
    const k = n < 0 ? a.length + n : n;
    if (k >= 0 && k < a.length) {
      if (cx.rt.limited) reserve(cx.rt, a, cx.root, replaceDelta(a[k], args[2], cx.rt), cx.pos);
      a[k] = args[2];
    }
    return undefined;
  }),
  push: arr((a, args, cx) => {
    if (args.length !== 2) return noMatch();
    if (cx.rt.limited) reserve(cx.rt, a, cx.root, addDelta(args[1], 1, 0, 0, cx.rt), cx.pos);
    a.push(args[1]);
    return undefined;
  }),
  append: arr((a, args, cx) => {
    if (args.length !== 2) return noMatch();
    const b = args[1];
    if (cx.rt.limited) {
      const d = Array.isArray(b) ? sizesOf(b, cx.rt) : addDelta(b, 1, 0, 0, cx.rt);
      reserve(cx.rt, a, cx.root, d, cx.pos);
    }
    if (Array.isArray(b)) for (const x of b) a.push(x);
    else a.push(b);
    return undefined;
  }),
  insert: arr((a, args, cx) => {
    if (args.length !== 3 || !isInt(args[1])) return noMatch();
    const n = Number(args[1]);
    const k = n < 0 ? Math.max(a.length + n, 0) : Math.min(n, a.length);
    if (cx.rt.limited) reserve(cx.rt, a, cx.root, addDelta(args[2], 1, 0, 0, cx.rt), cx.pos);
    a.splice(k, 0, args[2]);
    return undefined;
  }),
  pop: arr((a, args, cx) => {
    if (args.length !== 1) return noMatch();
    if (cx.rt.limited && a.length > 0)
      reserve(cx.rt, a, cx.root, removeDelta(a[a.length - 1], 1, 0, 0, cx.rt));
    return a.pop();
  }),
  shift: arr((a, args, cx) => {
    if (args.length !== 1) return noMatch();
    if (cx.rt.limited && a.length > 0) reserve(cx.rt, a, cx.root, removeDelta(a[0], 1, 0, 0, cx.rt));
    return a.shift();
  }),
  remove: arr((a, args, cx) => {
    if (args.length !== 2 || !isInt(args[1])) return noMatch();
    const n = Number(args[1]);
    const k = n < 0 ? a.length + n : n;
    if (k < 0 || k >= a.length) return undefined;
    if (cx.rt.limited) reserve(cx.rt, a, cx.root, removeDelta(a[k], 1, 0, 0, cx.rt));
    return a.splice(k, 1)[0];
  }),
  clear: arr((a, _args, cx) => {
    if (cx.rt.limited) reserve(cx.rt, a, cx.root, removeDelta(a, 0, 0, 0, cx.rt));
    a.length = 0;
    return undefined;
  }),
  reverse: arr((a) => void a.reverse()),
  truncate: arr((a, args) => {
    if (!isInt(args[1])) return noMatch();
    a.length = Math.min(a.length, Math.max(Number(args[1]), 0));
    return undefined;
  }),
  chop: arr((a, args) => {
    if (!isInt(args[1])) return noMatch();
    const keep = Math.max(Number(args[1]), 0);
    if (keep < a.length) a.splice(0, a.length - keep);
    return undefined;
  }),
  pad: arr((a, args, cx) => {
    if (args.length !== 3 || !isInt(args[1])) return noMatch();
    const n = Number(args[1]);
    const v = args[2];
    if (n <= a.length) return undefined;
    if (cx.rt.limited) {
      // every copy is accounted before the first one is made
      const one = addDelta(v, 1, 0, 0, cx.rt);
      const k = n - a.length;
      reserve(cx.rt, a, cx.root, { a: one.a * k, m: one.m * k, s: one.s * k }, cx.pos);
    }
    while (a.length < n) a.push(typeof v === 'object' ? cloneValue(v) : v);
    return undefined;
  }),
  extract: arr((a, args) => {
    const s = spanArgs(a, args, 1);
    return s ? a.slice(s[0], s[1]).map(cloneValue) : noMatch();
  }),
  split: arr((a, args) => {
    if (args.length !== 2 || !isInt(args[1])) return noMatch();
    const [s] = span(a.length, Number(args[1]), a.length);
    return a.splice(s);
  }),
  contains: arr((a, args) => (args.length === 2 ? a.some((x) => valuesEqual(x, args[1])) : noMatch())),
  index_of: arr((a, args, cx) => {
    let start = 0;
    if (args.length === 3) {
      if (!isInt(args[2])) return noMatch();
      const n = Number(args[2]);
      start = n < 0 ? Math.max(a.length + n, 0) : n;
    } else if (args.length !== 2) return noMatch();
    const x = args[1];
    if (x instanceof FnPtr) return predicateIndex(a, x, start, cx);
    if (typeof x === 'string' && (cx.hasScriptFn(x, 1) || cx.hasScriptFn(x, 2)))
      return predicateIndex(a, new FnPtr(x), start, cx);
    for (let i = start; i < a.length; i++) if (valuesEqual(a[i], x)) return i;
    return -1;
  }),
  filter: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    return a.filter((x, i) => truthy(callBack(cx, fp, x, [], [i], true).r, cx)).map(cloneValue);
  }),
  map: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    const out = new Array<Value>(a.length);
    const size = new Growth(cx.rt, cx.pos);
    for (let i = 0; i < a.length; i++) {
      const r = callBack(cx, fp, a[i], [], [i], true).r;
      size.add(r);
      out[i] = r;
    }
    return out;
  }),
  for_each: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    for (let i = 0; i < a.length; i++) {
      a[i] = callWithThis(cx, fp, a[i], [i]).item;
      // the element changed between two callbacks: no cached size may be trusted
      if (cx.rt.limited) cx.rt.epoch++;
    }
    return undefined;
  }),
  reduce: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    let acc: Value = args.length > 2 ? args[2] : undefined;
    for (let i = 0; i < a.length; i++)
      acc = callBack(cx, fp, undefined, [acc, cloneValue(a[i])], [i], false).r;
    return acc;
  }),
  reduce_rev: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    let acc: Value = args.length > 2 ? args[2] : undefined;
    for (let i = a.length - 1; i >= 0; i--)
      acc = callBack(cx, fp, undefined, [acc, cloneValue(a[i])], [i], false).r;
    return acc;
  }),
  some: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    return a.some((x, i) => truthy(callBack(cx, fp, x, [], [i], true).r, cx));
  }),
  all: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    return a.every((x, i) => truthy(callBack(cx, fp, x, [], [i], true).r, cx));
  }),
  find: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    for (let i = 0; i < a.length; i++)
      if (truthy(callBack(cx, fp, a[i], [], [i], true).r, cx)) return cloneValue(a[i]);
    return undefined;
  }),
  find_map: arr((a, args, cx) => {
    const fp = fnArg(args[1]);
    for (let i = 0; i < a.length; i++) {
      const r = callBack(cx, fp, a[i], [], [i], true).r;
      if (r !== undefined) return r;
    }
    return undefined;
  }),
  drain: arr((a, args, cx) => {
    if (args[1] instanceof FnPtr) {
      const fp = args[1];
      const removed: Value[] = [];
      const kept: Value[] = [];
      a.forEach((x, i) => (truthy(callBack(cx, fp, x, [], [i], true).r, cx) ? removed : kept).push(x));
      replaceSpan(a, 0, a.length, kept);
      return removed;
    }
    const s = spanArgs(a, args, 1);
    return s ? a.splice(s[0], s[1] - s[0]) : noMatch();
  }),
  retain: arr((a, args, cx) => {
    if (args[1] instanceof FnPtr) {
      const fp = args[1];
      const removed: Value[] = [];
      const kept: Value[] = [];
      a.forEach((x, i) => (truthy(callBack(cx, fp, x, [], [i], true).r, cx) ? kept : removed).push(x));
      replaceSpan(a, 0, a.length, kept);
      return removed;
    }
    const s = spanArgs(a, args, 1);
    if (!s) return noMatch();
    const kept = a.slice(s[0], s[1]);
    const removed = [...a.slice(0, s[0]), ...a.slice(s[1])];
    replaceSpan(a, 0, a.length, kept);
    return removed;
  }),
  splice: arr((a, args, cx) => {
    let s: [number, number] | undefined;
    let repl: Value;
    if (args.length === 3 && args[1] instanceof RRange) {
      s = rangeSpan(a.length, args[1]);
      repl = args[2];
    } else if (args.length === 4 && isInt(args[1]) && isInt(args[2])) {
      s = span(a.length, Number(args[1]), Number(args[2]));
      repl = args[3];
    } else return noMatch();
    if (cx.rt.limited) {
      const add = Array.isArray(repl) ? sizesOf(repl, cx.rt) : addDelta(repl, 1, 0, 0, cx.rt);
      const gone = spanSizes(a, s[0], s[1], cx);
      reserve(cx.rt, a, cx.root, { a: add.a - gone.a, m: add.m - gone.m, s: add.s - gone.s }, cx.pos);
    }
    replaceSpan(a, s[0], s[1] - s[0], Array.isArray(repl) ? repl : [repl]);
    return undefined;
  }),
  dedup: arr((a, args, cx) => {
    const fp = args.length > 1 ? fnArg(args[1]) : undefined;
    const out: Value[] = [];
    for (const x of a) {
      if (out.length) {
        const prev = out[out.length - 1];
        const same = fp ? truthy(cx.callFn(fp, [cloneValue(prev), cloneValue(x)]), cx) : valuesEqual(prev, x);
        if (same) continue;
      }
      out.push(x);
    }
    replaceSpan(a, 0, a.length, out);
    return undefined;
  }),
  zip: arr((a, args, cx) => {
    const b = args[1];
    if (!Array.isArray(b)) return noMatch();
    const fp = fnArg(args[2]);
    const n = Math.min(a.length, b.length);
    const out: Value[] = [];
    const size = new Growth(cx.rt, cx.pos);
    for (let i = 0; i < n; i++) {
      const r = callBack(cx, fp, undefined, [cloneValue(a[i]), cloneValue(b[i])], [i], false).r;
      size.add(r);
      out.push(r);
    }
    return out;
  }),
  sort: arr((a, args, cx) => {
    if (args.length === 1) naturalSort(a, false);
    else sortBy(a, fnArg(args[1]), cx);
    return undefined;
  }),
  sort_by: arr((a, args, cx) => void sortBy(a, fnArg(args[1]), cx)),
  sort_desc: arr((a) => void naturalSort(a, true)),
  order: arr((a) => {
    const c = a.map(cloneValue);
    naturalSort(c, false);
    return c;
  }),
  order_desc: arr((a) => {
    const c = a.map(cloneValue);
    naturalSort(c, true);
    return c;
  }),
  order_by: arr((a, args, cx) => {
    const c = a.map(cloneValue);
    sortBy(c, fnArg(args[1]), cx);
    return c;
  }),
};

export function isCharOrString(v: Value): boolean {
  return typeof v === 'string' || v instanceof RChar;
}
