/**
 * Plain expressions (Rhai: `eval/expr.rs`): literals, string interpolation, array and map
 * literals, variable reads, ranges, index and property reads, block expressions. Operators,
 * branches, loops, calls and jumps have their own files.
 */
import { indexGet } from '../access';
import type { ExprOf } from '../ast';
import { interpDisplay } from '../format';
import { fnNotFound } from '../operators';
import type { Op } from '../runtime';
import { checkDataSize } from '../sizes';
import { cloneIfObject, isInt, RChar, RFloat, RRange, type Value } from '../values';
import { sumCosts } from './charge';
import type { Compiled, FnCompiler } from './context';
import { placeOf, propGet, varPlaceOf } from './places';

/** A literal: its value is made once, at compile time (floats and chars are boxed). */
export function literal(e: ExprOf<'int' | 'str' | 'bool' | 'float' | 'char' | 'unit'>): Compiled {
  switch (e.kind) {
    case 'int':
    case 'str':
    case 'bool': {
      const v = e.value;
      return [() => v, 1];
    }
    case 'float': {
      const v = new RFloat(e.value);
      return [() => v, 1];
    }
    case 'char': {
      const v = new RChar(e.value);
      return [() => v, 1];
    }
    case 'unit':
      return [() => undefined, 1];
  }
}

/** A back-tick string with `${...}` parts. */
export function interpolated(fc: FnCompiler, e: ExprOf<'interp'>): Compiled {
  const parts = e.parts.map((p) => fc.expr(p));
  const ops = parts.map((p) => p[0]);
  const pos = e.pos;
  return [
    (f) => {
      let s = '';
      for (const op of ops) s += interpDisplay(op(f));
      return f.rt.checkString(s, pos);
    },
    1 + sumCosts(parts),
  ];
}

/** `[a, b, ...]`: each element is a copy; the whole is checked against the size limits. */
export function arrayLiteral(fc: FnCompiler, e: ExprOf<'array'>): Compiled {
  const items = e.items.map((x) => fc.expr(x, true));
  const ops = items.map((x) => x[0]);
  const pos = e.pos;
  return [
    (f) => {
      const a = new Array<Value>(ops.length);
      for (let i = 0; i < ops.length; i++) a[i] = ops[i](f);
      if (f.rt.maxArray !== Infinity || f.rt.maxMap !== Infinity || f.rt.maxString !== Infinity)
        checkDataSize(f.rt, a, pos);
      return a;
    },
    1 + sumCosts(items),
  ];
}

/** `#{ k: v, ... }`: each value is a copy; the whole is checked against the size limits. */
export function mapLiteral(fc: FnCompiler, e: ExprOf<'map'>): Compiled {
  const entries = e.entries.map(([k, x]) => [k, fc.expr(x, true)] as const);
  const pos = e.pos;
  return [
    (f) => {
      const m = new Map<string, Value>();
      for (const [k, [op]] of entries) m.set(k, op(f));
      if (f.rt.maxArray !== Infinity || f.rt.maxMap !== Infinity || f.rt.maxString !== Infinity)
        checkDataSize(f.rt, m, pos);
      return m;
    },
    1 + entries.reduce((a, [, [, c]]) => a + c, 0),
  ];
}

/** A variable or `this` read; a plain local (not captured) reads its slot directly. */
export function variable(fc: FnCompiler, e: ExprOf<'var' | 'this'>, value: boolean): Compiled {
  const p = e.kind === 'var' ? varPlaceOf(fc, e) : placeOf(fc, e);
  const d = e.kind === 'var' ? fc.res.varRef.get(e) : undefined;
  if (d && !d.captured && !d.isCapture) {
    const i = d.index;
    return [value ? (f) => cloneIfObject(f.s[i]) : (f) => f.s[i], 1];
  }
  const get = p.get;
  return [value ? (f) => cloneIfObject(get(f)) : get, 1];
}

/** `a..b`, `a..=b`, open at either end: integer bounds. */
export function range(fc: FnCompiler, e: ExprOf<'range'>): Compiled {
  const [from, fromCost] = e.from ? fc.expr(e.from) : [() => 0, 0];
  const [to, toCost] = e.to ? fc.expr(e.to) : [() => Infinity, 0];
  const { inclusive, pos } = e;
  return [
    (f) => {
      const a = from(f);
      const b = to(f);
      if (!isInt(a) || !isInt(b)) throw fnNotFound(inclusive ? '..=' : '..', [a, b]).at(pos);
      return new RRange(Number(a), Number(b), inclusive);
    },
    1 + fromCost + toCost,
  ];
}

/** `x[i]` / `x?[i]` read, with an inline path for an in-bounds array element. */
export function indexRead(fc: FnCompiler, e: ExprOf<'index'>, value: boolean): Compiled {
  const [t, tc] = fc.expr(e.target);
  const [i, ic] = fc.expr(e.index);
  const { pos, safe } = e;
  const op: Op = (f) => {
    const c = t(f);
    const k = i(f);
    if (Array.isArray(c) && typeof k === 'number' && k >= 0 && k < c.length) return c[k];
    if (safe && c === undefined) return undefined;
    return indexGet(c, k, pos);
  };
  return [value ? (f) => cloneIfObject(op(f)) : op, 1 + tc + ic];
}

/** `x.name` / `x?.name` read: a map field or a built-in getter. */
export function propRead(fc: FnCompiler, e: ExprOf<'prop'>, value: boolean): Compiled {
  const [t, tc] = fc.expr(e.target);
  const { name, pos, safe } = e;
  return [
    value
      ? (f) => cloneIfObject(propGet(t(f), name, pos, safe, f.rt))
      : (f) => propGet(t(f), name, pos, safe, f.rt),
    1 + tc,
  ];
}

/** `{ ... }` as an expression: one operation, its statements charge their own. */
export function blockExpr(fc: FnCompiler, e: ExprOf<'block'>, value: boolean): Compiled {
  const b = fc.block(e.body);
  return [value ? (f) => cloneIfObject(b(f)) : b, 1];
}
