/** String and char built-ins. Positions count characters; "mutating" ones assign args[0]. */
import { fail } from '../errors';
import { normIndex, sliceBounds } from '../access';
import { display } from '../format';
import { byteLength, charLength, isInt, RChar, RRange, toChars, type Value } from '../values';
import { type Builtin, type CallCx, noMatch } from './registry';

function text(v: Value): string | undefined {
  return typeof v === 'string' ? v : v instanceof RChar ? v.c : undefined;
}

/** Rhai's sub_string(start, len) clamping. */
function subRange(len: number, start: number, count: number): [number, number] {
  if (len === 0 || count <= 0) return [0, 0];
  let off: number;
  if (start < 0) off = Math.max(len + start, 0);
  else if (start >= len) return [0, 0];
  else off = start;
  return [off, Math.min(off + count, len)];
}

function rangeArgs(cs: string[], a: Value[]): [number, number] | undefined {
  if (a.length === 2 && a[1] instanceof RRange) {
    const r = a[1];
    const start = Math.max(r.start, 0);
    if (r.end === Infinity) return subRange(cs.length, start, cs.length);
    const end = Math.max(r.end, start);
    return subRange(cs.length, start, end - start + (r.inclusive ? 1 : 0));
  }
  if (a.length === 2 && isInt(a[1])) return subRange(cs.length, Number(a[1]), cs.length);
  if (a.length === 3 && isInt(a[1]) && isInt(a[2])) return subRange(cs.length, Number(a[1]), Number(a[2]));
  return undefined;
}

function str(fn: (s: string, a: Value[], cx: CallCx) => Value): Builtin {
  return (a, cx) => (typeof a[0] === 'string' ? fn(a[0], a, cx) : noMatch());
}

function splitN(s: string, sep: string, max: number): string[] {
  if (max <= 1) return [s];
  const parts = s.split(sep);
  if (parts.length <= max) return parts;
  return [...parts.slice(0, max - 1), parts.slice(max - 1).join(sep)];
}

function rsplitN(s: string, sep: string, max: number): string[] {
  const parts = s.split(sep).reverse();
  if (max <= 1) return [s];
  if (parts.length <= max) return parts;
  const head = parts.slice(0, max - 1);
  const rest = parts
    .slice(max - 1)
    .reverse()
    .join(sep);
  return [...head, rest];
}

export const STRINGS: Record<string, Builtin> = {
  len: str((s) => charLength(s)),
  bytes: str((s) => byteLength(s)),
  is_empty: str((s) => s.length === 0),
  to_upper: (a) =>
    typeof a[0] === 'string'
      ? a[0].toUpperCase()
      : a[0] instanceof RChar
        ? new RChar(a[0].c.toUpperCase())
        : noMatch(),
  to_lower: (a) =>
    typeof a[0] === 'string'
      ? a[0].toLowerCase()
      : a[0] instanceof RChar
        ? new RChar(a[0].c.toLowerCase())
        : noMatch(),
  make_upper: str((s, a) => void (a[0] = s.toUpperCase())),
  make_lower: str((s, a) => void (a[0] = s.toLowerCase())),
  trim: str((s, a) => void (a[0] = s.trim())),
  trim_start: str((s, a) => void (a[0] = s.trimStart())),
  trim_end: str((s, a) => void (a[0] = s.trimEnd())),
  clear: str((_s, a) => void (a[0] = '')),
  contains: str((s, a) => {
    const t = text(a[1]);
    return a.length === 2 && t !== undefined ? s.includes(t) : noMatch();
  }),
  starts_with: str((s, a) => (typeof a[1] === 'string' ? s.startsWith(a[1]) : noMatch())),
  ends_with: str((s, a) => (typeof a[1] === 'string' ? s.endsWith(a[1]) : noMatch())),
  get: str((s, a) => {
    if (a.length !== 2 || !isInt(a[1])) return noMatch();
    const cs = toChars(s);
    const k = normIndex(a[1], cs.length);
    return k < 0 ? undefined : new RChar(cs[k]);
  }),
  set: str((s, a) => {
    if (a.length !== 3 || !isInt(a[1]) || !(a[2] instanceof RChar)) return noMatch();
    const cs = toChars(s);
    const k = normIndex(a[1], cs.length);
    if (k >= 0) {
      cs[k] = a[2].c;
      a[0] = cs.join('');
    }
    return undefined;
  }),
  sub_string: str((s, a) => {
    const cs = toChars(s);
    const r = rangeArgs(cs, a);
    return r ? cs.slice(r[0], r[1]).join('') : noMatch();
  }),
  crop: str((s, a) => {
    const cs = toChars(s);
    if (a.length === 2 && a[1] instanceof RRange) {
      const [x, y] = sliceBounds(a[1], cs.length);
      a[0] = cs.slice(x, y).join('');
      return undefined;
    }
    const r = rangeArgs(cs, a);
    if (!r) return noMatch();
    a[0] = cs.slice(r[0], r[1]).join('');
    return undefined;
  }),
  truncate: str((s, a) => {
    if (a.length !== 2 || !isInt(a[1])) return noMatch();
    const cs = toChars(s);
    a[0] = cs.slice(0, Math.max(Number(a[1]), 0)).join('');
    return undefined;
  }),
  pad: str((s, a, cx) => {
    const t = text(a[2]);
    if (a.length !== 3 || !isInt(a[1]) || t === undefined) return noMatch();
    const target = Number(a[1]);
    const len = charLength(s);
    const tl = charLength(t);
    if (tl === 0 || len >= target) return undefined;
    // Rhai appends whole copies of `t`, then as many of its characters as still fit; built in
    // one allocation and checked before (a loop of appends took seconds for a 1 MB pad)
    const whole = Math.floor((target - len) / tl);
    const rest = (target - len) % tl;
    if ((whole + 1) * t.length > cx.rt.maxString)
      throw fail('ErrorDataTooLarge', 'Length of string too large', cx.pos);
    const tail = rest > 0 ? [...t].slice(0, rest).join('') : '';
    a[0] = cx.rt.checkString(s + t.repeat(whole) + tail);
    return undefined;
  }),
  append: str((s, a, cx) => {
    if (a.length !== 2) return noMatch();
    a[0] = cx.rt.checkString(s + display(a[1]));
    return undefined;
  }),
  remove: str((s, a) => {
    const t = text(a[1]);
    if (a.length !== 2 || t === undefined) return noMatch();
    a[0] = t === '' ? s : s.split(t).join('');
    return undefined;
  }),
  replace: str((s, a, cx) => {
    const from = text(a[1]);
    const to = text(a[2]);
    if (a.length !== 3 || from === undefined || to === undefined) return noMatch();
    a[0] = cx.rt.checkString(from === '' ? s : s.split(from).join(to));
    return undefined;
  }),
  pop: str((s, a) => {
    const cs = toChars(s);
    if (a.length === 1) {
      if (cs.length === 0) return undefined;
      const c = cs.pop()!;
      a[0] = cs.join('');
      return new RChar(c);
    }
    if (a.length === 2 && isInt(a[1])) {
      const n = Math.min(Math.max(Number(a[1]), 0), cs.length);
      a[0] = cs.slice(0, cs.length - n).join('');
      return cs.slice(cs.length - n).join('');
    }
    return noMatch();
  }),
  index_of: str((s, a) => {
    const t = text(a[1]);
    if (t === undefined || a.length > 3) return noMatch();
    const cs = toChars(s);
    let start = 0;
    if (a.length === 3) {
      if (!isInt(a[2])) return noMatch();
      const n = Number(a[2]);
      start = n < 0 ? Math.max(cs.length + n, 0) : n;
      if (start >= cs.length) return -1;
    }
    const prefix = cs.slice(0, start).join('');
    const idx = s.indexOf(t, prefix.length);
    return idx < 0 ? -1 : charLength(s.slice(0, idx));
  }),
  split: str((s, a) => {
    if (a.length === 1) return s.split(/\s+/u).filter((x) => x !== '');
    if (a.length === 2 && isInt(a[1])) {
      const cs = toChars(s);
      const n = Number(a[1]);
      const k = n < 0 ? Math.max(cs.length + n, 0) : Math.min(n, cs.length);
      return [cs.slice(0, k).join(''), cs.slice(k).join('')];
    }
    const sep = text(a[1]);
    if (sep === undefined) return noMatch();
    if (a.length === 2) return s.split(sep);
    if (a.length === 3 && isInt(a[2])) return splitN(s, sep, Number(a[2]));
    return noMatch();
  }),
  split_rev: str((s, a) => {
    const sep = text(a[1]);
    if (sep === undefined) return noMatch();
    if (a.length === 2) return s.split(sep).reverse();
    if (a.length === 3 && isInt(a[2])) return rsplitN(s, sep, Number(a[2]));
    return noMatch();
  }),
  to_chars: str((s) => toChars(s).map((c) => new RChar(c))),
  chars: str((s, a) => {
    const cs = toChars(s);
    if (a.length === 1) return cs.map((c) => new RChar(c));
    const r = rangeArgs(cs, a);
    return r ? cs.slice(r[0], r[1]).map((c) => new RChar(c)) : noMatch();
  }),
};
