/**
 * Places (Rhai: `eval/target.rs`): what an assignment writes to or a method call mutates —
 * a variable, `this`, or an element / property of one — read and written in place, and
 * property reads (`x.len`, map fields).
 */
import { builtinProp, indexGet, indexSet, unknownProp } from '../access';
import type { Expr, ExprOf } from '../ast';
import { BUILTINS, isMutator } from '../builtins/index';
import { type CallCx, NO_MATCH } from '../builtins/registry';
import { fail, type Pos, type RhaiFailure } from '../errors';
import type { Frame, GlobalVar, Op, Runtime } from '../runtime';
import { type Cell, FnPtr, type Value } from '../values';
import { charged } from './charge';
import type { FnCompiler, Place } from './context';

/**
 * The value of the variable (or `this`) a place like `x.a[1].b` starts from, read again
 * after a change to check it whole. For a place rooted in any other expression (a call's
 * result, a literal) the change went to a temporary: a value nothing keeps, so undefined
 * (and the expression is not evaluated twice).
 */
export function rootReader(fc: FnCompiler, e: Expr): Op {
  let root = e;
  while (root.kind === 'index' || root.kind === 'prop') root = root.target;
  if (root.kind !== 'var' && root.kind !== 'this') return () => undefined;
  return placeOf(fc, root).get;
}

/** The place an assignment target or method receiver names; any other expression is a temporary. */
export function placeOf(fc: FnCompiler, e: Expr): Place {
  switch (e.kind) {
    case 'var':
      return varPlaceOf(fc, e);
    case 'this':
      return {
        get: (f) => {
          if (!f.th) throw fail('ErrorUnboundThis', "'this' not bound", e.pos);
          return f.th.v;
        },
        set: (f, v) => {
          if (!f.th) throw fail('ErrorUnboundThis', "'this' not bound", e.pos);
          f.th.v = v;
        },
        cell: (f) => f.th,
        isVar: true,
      };
    case 'index': {
      const t = placeOf(fc, e.target);
      const [idx] = fc.expr(e.index);
      const pos = e.pos;
      const safe = e.safe;
      return {
        get: (f) => {
          const c = t.get(f);
          if (safe && c === undefined) return undefined;
          return indexGet(c, idx(f), pos);
        },
        set: (f, v) => {
          const c = t.get(f);
          if (safe && c === undefined) return;
          const n = indexSet(c, idx(f), v, pos);
          if (n !== c) t.set(f, n);
        },
        constRoot: t.constRoot,
        isVar: false,
      };
    }
    case 'prop': {
      const t = placeOf(fc, e.target);
      const { name, pos, safe } = e;
      return {
        get: (f) => propGet(t.get(f), name, pos, safe, f.rt),
        set: (f, v) => {
          const c = t.get(f);
          if (safe && c === undefined) return;
          if (!(c instanceof Map)) throw unknownProp(name, c, pos);
          c.set(name, v);
        },
        constRoot: t.constRoot,
        isVar: false,
      };
    }
    default: {
      const [op, cost] = fc.expr(e);
      return { get: charged(op, cost), set: () => undefined, isVar: false };
    }
  }
}

/**
 * A variable: a local slot, a captured cell (shared with closures), or at the top level a
 * host global looked up by name at run time; a script function's name reads as a pointer.
 */
export function varPlaceOf(fc: FnCompiler, e: ExprOf<'var'>): Place {
  const d = fc.res.varRef.get(e);
  const { name, pos } = e;
  if (d) {
    const i = d.index;
    const constRoot = d.isConst ? () => name : undefined;
    if (d.isCapture) {
      return {
        get: (f) => f.caps[i].v,
        set: (f, v) => void (f.caps[i].v = v),
        cell: (f) => f.caps[i],
        constRoot,
        isVar: true,
      };
    }
    if (d.captured) {
      return {
        get: (f) => (f.s[i] as unknown as Cell).v,
        set: (f, v) => void ((f.s[i] as unknown as Cell).v = v),
        cell: (f) => f.s[i] as unknown as Cell,
        constRoot,
        isVar: true,
      };
    }
    return { get: (f) => f.s[i], set: (f, v) => void (f.s[i] = v), constRoot, isVar: true };
  }
  if (fc.scope.kind === 'main') {
    const fnPtr = fc.fns.hasName(name) ? new FnPtr(name) : undefined;
    const lookup = (f: Frame): GlobalVar => {
      const g = f.rt.globals.get(name);
      if (!g) throw varNotFound(name, pos);
      return g;
    };
    return {
      get: (f) => {
        const g = f.rt.globals.get(name);
        if (g) return g.v;
        if (fnPtr) return fnPtr;
        throw varNotFound(name, pos);
      },
      set: (f, v) => {
        const g = lookup(f);
        if (g.isConst) throw fail('ErrorAssignmentToConstant', `Cannot modify constant ${name}`, pos);
        g.v = v;
      },
      cell: (f) => lookup(f),
      constRoot: (f) => (f.rt.globals.get(name)?.isConst ? name : undefined),
      isVar: true,
    };
  }
  const fnPtr = fc.fns.hasName(name) ? new FnPtr(name) : undefined;
  return {
    get: () => {
      if (fnPtr) return fnPtr;
      throw varNotFound(name, pos);
    },
    set: () => {
      throw varNotFound(name, pos);
    },
    isVar: true,
  };
}

export function varNotFound(name: string, pos: Pos): RhaiFailure {
  return fail('ErrorVariableNotFound', `Variable not found: ${name}`, pos);
}

/** Property read: map field lookup (missing → unit) or a built-in getter. */
export function propGet(c: Value, name: string, pos: Pos, safe: boolean, rt: Runtime): Value {
  if (c instanceof Map) return c.get(name);
  if (safe && c === undefined) return undefined;
  const p = builtinProp(c, name);
  if (p) return p.v;
  const b = BUILTINS[name];
  // a getter reads: `a.pop` is not a call of the mutator `pop`
  if (b && c !== undefined && !isMutator(name, c)) {
    try {
      return b([c], propCx(rt, pos));
    } catch (e) {
      if (e !== NO_MATCH) throw e;
    }
  }
  throw unknownProp(name, c, pos);
}

/** Context of a built-in used as a property getter (`s.len`): no callbacks. */
function propCx(rt: Runtime, pos: Pos): CallCx {
  return {
    rt,
    pos,
    root: undefined,
    callFn: () => {
      throw NO_MATCH;
    },
    fnArity: () => undefined,
    hasScriptFn: () => false,
  };
}
