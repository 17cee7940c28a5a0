/** String and char built-ins. Positions count characters; "mutating" ones assign args[0]. */
import { normIndex, sliceBounds } from '../access';
import { display } from '../format';
import type { Runtime } from '../runtime';
import { limitArray, limitString, tooLargeArray } from '../sizes';
import { byteLength, charLength, isInt, isSimpleString, RChar, RRange, toChars, type Value } from '../values';
import { type Builtin, type CallCx, noMatch } from './registry';

/**
 * Characters of a string, without building an array of them when the string has no
 * surrogate pairs (then a character is a UTF-16 unit): `sub_string(0, 1)` of a 1 MB string
 * must not allocate a million one-character strings.
 */
interface Chars {
  readonly length: number;
  slice(start: number, end?: number): string;
  at(i: number): string;
}

function charsOf(s: string): Chars {
  if (isSimpleString(s)) return { length: s.length, slice: (a, b) => s.slice(a, b), at: (i) => s[i] };
  const cs = toChars(s);
  return { length: cs.length, slice: (a, b) => cs.slice(a, b).join(''), at: (i) => cs[i] };
}

/** Occurrences of `sep` in `s` (non-overlapping, left to right), counting no further than `stop`. */
function countOf(s: string, sep: string, stop: number): number {
  let n = 0;
  for (let i = s.indexOf(sep); i >= 0 && n <= stop; i = s.indexOf(sep, i + sep.length)) n++;
  return n;
}

/** Throw before `split` builds more pieces than the array limit allows. */
function limitPieces(rt: Runtime, s: string, sep: string, max: number, pos: CallCx['pos']): void {
  if (rt.maxArray === Infinity) return;
  const pieces = sep === '' ? s.length : countOf(s, sep, rt.maxArray) + 1;
  if (Math.min(pieces, max) > rt.maxArray) throw tooLargeArray(pos);
}

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

function rangeArgs(cs: { readonly length: number }, a: Value[]): [number, number] | undefined {
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

/** At most `max` pieces, the last one keeping the rest (never splits past what it returns). */
function splitN(s: string, sep: string, max: number): string[] {
  if (max <= 1) return [s];
  if (sep === '') {
    const parts = s.split('');
    return parts.length <= max ? parts : [...parts.slice(0, max - 1), parts.slice(max - 1).join('')];
  }
  const out: string[] = [];
  let from = 0;
  while (out.length < max - 1) {
    const i = s.indexOf(sep, from);
    if (i < 0) break;
    out.push(s.slice(from, i));
    from = i + sep.length;
  }
  out.push(s.slice(from));
  return out;
}

/** Like {@link splitN} from the end: pieces in reverse order, the last one keeping the head. */
function rsplitN(s: string, sep: string, max: number): string[] {
  if (max <= 1) return [s];
  if (sep === '') {
    const parts = s.split('').reverse();
    if (parts.length <= max) return parts;
    return [
      ...parts.slice(0, max - 1),
      parts
        .slice(max - 1)
        .reverse()
        .join(''),
    ];
  }
  const out: string[] = [];
  let end = s.length;
  while (out.length < max - 1) {
    const i = end - sep.length < 0 ? -1 : s.lastIndexOf(sep, end - sep.length);
    if (i < 0) break;
    out.push(s.slice(i + sep.length, end));
    end = i;
  }
  out.push(s.slice(0, end));
  return out;
}

/** Upper/lower-casing can grow a string (`ΐ` → three code points): checked after, bounded. */
function recased(s: string, upper: boolean, cx: CallCx): string {
  const r = upper ? s.toUpperCase() : s.toLowerCase();
  return r.length === s.length ? r : cx.rt.checkString(r, cx.pos);
}

export const STRINGS: Record<string, Builtin> = {
  len: str((s) => charLength(s)),
  bytes: str((s) => byteLength(s)),
  is_empty: str((s) => s.length === 0),
  to_upper: (a, cx) =>
    typeof a[0] === 'string'
      ? recased(a[0], true, cx)
      : a[0] instanceof RChar
        ? new RChar(a[0].c.toUpperCase())
        : noMatch(),
  to_lower: (a, cx) =>
    typeof a[0] === 'string'
      ? recased(a[0], false, cx)
      : a[0] instanceof RChar
        ? new RChar(a[0].c.toLowerCase())
        : noMatch(),
  make_upper: str((s, a, cx) => void (a[0] = recased(s, true, cx))),
  make_lower: str((s, a, cx) => void (a[0] = recased(s, false, cx))),
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
    const cs = charsOf(s);
    const k = normIndex(a[1], cs.length);
    return k < 0 ? undefined : new RChar(cs.at(k));
  }),
  set: str((s, a, cx) => {
    if (a.length !== 3 || !isInt(a[1]) || !(a[2] instanceof RChar)) return noMatch();
    const cs = charsOf(s);
    const k = normIndex(a[1], cs.length);
    if (k >= 0) a[0] = cx.rt.checkString(cs.slice(0, k) + a[2].c + cs.slice(k + 1), cx.pos);
    return undefined;
  }),
  sub_string: str((s, a) => {
    const cs = charsOf(s);
    const r = rangeArgs(cs, a);
    return r ? cs.slice(r[0], r[1]) : noMatch();
  }),
  crop: str((s, a) => {
    const cs = charsOf(s);
    if (a.length === 2 && a[1] instanceof RRange) {
      const [x, y] = sliceBounds(a[1], cs.length);
      a[0] = cs.slice(x, y);
      return undefined;
    }
    const r = rangeArgs(cs, a);
    if (!r) return noMatch();
    a[0] = cs.slice(r[0], r[1]);
    return undefined;
  }),
  truncate: str((s, a) => {
    if (a.length !== 2 || !isInt(a[1])) return noMatch();
    const cs = charsOf(s);
    a[0] = cs.slice(0, Math.max(Number(a[1]), 0));
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
    const tail = rest > 0 ? [...t].slice(0, rest).join('') : '';
    limitString(cx.rt, s.length + whole * t.length + tail.length, cx.pos);
    a[0] = cx.rt.checkString(s + t.repeat(whole) + tail, cx.pos);
    return undefined;
  }),
  append: str((s, a, cx) => {
    if (a.length !== 2) return noMatch();
    const t = display(a[1]);
    limitString(cx.rt, s.length + t.length, cx.pos);
    a[0] = cx.rt.checkString(s + t, cx.pos);
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
    if (from === '') return undefined;
    // the result's length is known before it is built: over the limit, nothing is allocated
    if (to.length > from.length && cx.rt.maxString !== Infinity) {
      const room = Math.floor((cx.rt.maxString - s.length) / (to.length - from.length));
      limitString(
        cx.rt,
        s.length + Math.min(countOf(s, from, room), room + 1) * (to.length - from.length),
        cx.pos,
      );
    }
    a[0] = cx.rt.checkString(s.split(from).join(to), cx.pos);
    return undefined;
  }),
  pop: str((s, a) => {
    const cs = charsOf(s);
    if (a.length === 1) {
      if (cs.length === 0) return undefined;
      const c = cs.at(cs.length - 1);
      a[0] = cs.slice(0, cs.length - 1);
      return new RChar(c);
    }
    if (a.length === 2 && isInt(a[1])) {
      const n = Math.min(Math.max(Number(a[1]), 0), cs.length);
      a[0] = cs.slice(0, cs.length - n);
      return cs.slice(cs.length - n);
    }
    return noMatch();
  }),
  index_of: str((s, a) => {
    const t = text(a[1]);
    if (t === undefined || a.length > 3) return noMatch();
    const cs = charsOf(s);
    let start = 0;
    if (a.length === 3) {
      if (!isInt(a[2])) return noMatch();
      const n = Number(a[2]);
      start = n < 0 ? Math.max(cs.length + n, 0) : n;
      if (start >= cs.length) return -1;
    }
    const prefix = cs.slice(0, start);
    const idx = s.indexOf(t, prefix.length);
    return idx < 0 ? -1 : charLength(s.slice(0, idx));
  }),
  split: str((s, a, cx) => {
    if (a.length === 1) {
      if (cx.rt.maxArray !== Infinity && s.length > 2 * cx.rt.maxArray) {
        // count the words first: `split()` of a 1 MB "a a a …" would build 500,000 of them
        const word = /\S+/gu;
        let n = 0;
        while (word.exec(s) !== null) if (++n > cx.rt.maxArray) throw tooLargeArray(cx.pos);
      }
      return s.split(/\s+/u).filter((x) => x !== '');
    }
    if (a.length === 2 && isInt(a[1])) {
      const cs = charsOf(s);
      const n = Number(a[1]);
      const k = n < 0 ? Math.max(cs.length + n, 0) : Math.min(n, cs.length);
      return [cs.slice(0, k), cs.slice(k)];
    }
    const sep = text(a[1]);
    if (sep === undefined) return noMatch();
    if (a.length === 2) {
      limitPieces(cx.rt, s, sep, Infinity, cx.pos);
      return s.split(sep);
    }
    if (a.length === 3 && isInt(a[2])) {
      limitPieces(cx.rt, s, sep, Number(a[2]), cx.pos);
      return splitN(s, sep, Number(a[2]));
    }
    return noMatch();
  }),
  split_rev: str((s, a, cx) => {
    const sep = text(a[1]);
    if (sep === undefined) return noMatch();
    if (a.length === 2) {
      limitPieces(cx.rt, s, sep, Infinity, cx.pos);
      return s.split(sep).reverse();
    }
    if (a.length === 3 && isInt(a[2])) {
      limitPieces(cx.rt, s, sep, Number(a[2]), cx.pos);
      return rsplitN(s, sep, Number(a[2]));
    }
    return noMatch();
  }),
  to_chars: str((s, a, cx) => {
    if (a.length !== 1) return noMatch();
    limitArray(cx.rt, charLength(s), cx.pos);
    return toChars(s).map((c) => new RChar(c));
  }),
  chars: str((s, a, cx) => {
    const n = charLength(s);
    if (a.length === 1) {
      limitArray(cx.rt, n, cx.pos);
      return toChars(s).map((c) => new RChar(c));
    }
    const r = rangeArgs({ length: n }, a);
    if (!r) return noMatch();
    limitArray(cx.rt, r[1] - r[0], cx.pos);
    return toChars(s)
      .slice(r[0], r[1])
      .map((c) => new RChar(c));
  }),
};
