/**
 * Closure compilation (pass 2): turns the AST into a tree of JS closures `(frame) => value`.
 *
 * Operation counting: each compiled expression reports a static cost (its always-evaluated
 * nodes); statements charge their total once, conditional parts (short-circuit operands,
 * branches, loop conditions/iterations, calls) charge when they run. This matches the
 * per-node counting of SUBSET.md §11 while touching the counter once per statement.
 */
import { builtinProp, indexGet, indexSet, unknownProp } from './access';
import type { Expr, FnDef, Script, Stmt } from './ast';
import { BUILTINS, isMutator, isUnaccountedMutator } from './builtins/index';
import { NO_MATCH, type CallCx } from './builtins/registry';
import {
  BreakSignal,
  CONTINUE,
  ContinueSignal,
  fail,
  NO_POS,
  type Pos,
  ReturnSignal,
  RhaiFailure,
} from './errors';
import { display, interpDisplay, debug } from './format';
import { intNeg } from './int';
import { binaryOp, fnNotFound, strictEqual, toF } from './operators';
import { constValue, errorToValue, hasLoopSignal } from './compile-helpers';
import { Decl, type FnScope, type Resolution, resolve } from './resolve';
import { Frame, GlobalVar, type Op, type Runtime } from './runtime';
import {
  addDelta,
  checkDataSize,
  type Container,
  isContainer,
  limitArray,
  limitString,
  mergeDelta,
  replaceDelta,
  reserve,
  type Sizes,
  sizesOf,
  utf8Length,
} from './sizes';
import {
  Cell,
  cloneValue,
  FnPtr,
  isInt,
  RChar,
  RFloat,
  RRange,
  RStepRange,
  toChars,
  typeName,
  type Value,
} from './values';

/** A compiled script function or closure body. */
export class CompiledFn {
  body: Op = () => undefined;
  constructor(
    readonly name: string,
    readonly params: readonly string[],
    readonly nslots: number,
    readonly paramCells: readonly boolean[],
    readonly pos: Pos,
  ) {}
}

/** A compiled script: top-level body plus the function table. */
export interface CompiledProgram {
  readonly main: CompiledFn;
  readonly fns: Map<string, CompiledFn>;
}

const MAX = 9007199254740991;
/** Elements/characters from which a built-in call's receiver counts as large (see callBuiltin). */
const LARGE_RECEIVER = 1 << 16;
const STMT_LIKE = new Set(['if', 'switch', 'while', 'do', 'for', 'block']);

function charge(f: Frame, k: number): void {
  const rt = f.rt;
  if ((rt.ops += k) > rt.limit) rt.overLimit();
}

function charged(op: Op, cost: number): Op {
  if (cost === 0) return op;
  return (f) => {
    const rt = f.rt;
    if ((rt.ops += cost) > rt.limit) rt.overLimit();
    return op(f);
  };
}

function mismatchBool(v: Value, pos: Pos): RhaiFailure {
  return fail('ErrorMismatchDataType', `Data type incorrect: ${typeName(v)} (expecting bool)`, pos);
}

function varNotFound(name: string, pos: Pos): RhaiFailure {
  return fail('ErrorVariableNotFound', `Variable not found: ${name}`, pos);
}

/** Error (possibly from a binary operator) with the operator's position unless arithmetic. */
function slowBinary(op: string, a: Value, b: Value, pos: Pos, rt: Runtime): Value {
  try {
    // `a + b` of two arrays: no copy is made past the element limit
    if (op === '+' && rt.limited && Array.isArray(a) && Array.isArray(b))
      limitArray(rt, a.length + b.length, pos);
    const r = binaryOp(op, a, b);
    if ((typeof r === 'object' || typeof r === 'string') && rt.limited) checkDataSize(rt, r, pos);
    return r;
  } catch (e) {
    if (e instanceof RhaiFailure && e.kind !== 'ErrorArithmetic') e.at(pos);
    throw e;
  }
}

function cloneIfObj(v: Value): Value {
  return typeof v === 'object' ? cloneValue(v) : v;
}

/** A capture slot whose global did not exist when the closure was created. */
function missingCell(name: string): Cell {
  const c = new Cell(undefined);
  const boom = (): never => {
    throw varNotFound(name, NO_POS);
  };
  Object.defineProperty(c, 'v', { get: boom, set: boom });
  return c;
}

/** Wrap an error escaping a script function call (Rhai: ErrorInFunctionCall, system errors pass). */
function wrapCallError(e: unknown, name: string, pos: Pos): unknown {
  if (e instanceof RhaiFailure) {
    if (e.isSystem) {
      e.pos = pos;
      return e;
    }
    return new RhaiFailure('ErrorInFunctionCall', e.detail, pos, undefined, e, name);
  }
  if (e instanceof RangeError) return fail('ErrorStackOverflow', 'Stack overflow', pos);
  return e;
}

/** Invoke a compiled script function. */
export function callScript(
  fn: CompiledFn,
  args: readonly Value[],
  th: Cell | undefined,
  rt: Runtime,
  pos: Pos,
  caps: readonly Cell[] = [],
): Value {
  if (++rt.level > rt.maxLevels) {
    rt.level--;
    throw fail('ErrorStackOverflow', 'Stack overflow', pos);
  }
  const s: unknown[] = new Array(fn.nslots);
  const pc = fn.paramCells;
  for (let i = 0; i < pc.length; i++) s[i] = pc[i] ? new Cell(args[i]) : args[i];
  // A function that can see outer values (captures, `this`) may return one of them, or a part
  // of one: the caller gets a copy (value semantics), never the container itself.
  const sees = th !== undefined || caps.length > 0;
  try {
    const v = fn.body(new Frame(s as Value[], rt, th, caps));
    return sees && typeof v === 'object' ? cloneValue(v) : v;
  } catch (e) {
    if (e instanceof ReturnSignal) return sees && typeof e.value === 'object' ? cloneValue(e.value) : e.value;
    throw wrapCallError(e, fn.name, pos);
  } finally {
    rt.level--;
  }
}

interface Place {
  get: Op;
  set: (f: Frame, v: Value) => void;
  /** the shared cell when the place is a captured variable or `this` */
  cell?: (f: Frame) => Cell | undefined;
  /** name of a constant root variable, checked before mutation */
  constRoot?: (f: Frame) => string | undefined;
  readonly isVar: boolean;
}

type Compiled = [Op, number];

class FnCompiler {
  constructor(
    private readonly pc: ProgramCompiler,
    private readonly fs: FnScope,
  ) {}

  private get r(): Resolution {
    return this.pc.res;
  }

  // ---------- statements ----------

  block(stmts: readonly Stmt[]): Op {
    const ops = stmts.filter((s) => s.k !== 'noop').map((s) => this.stmt(s));
    switch (ops.length) {
      case 0:
        return () => undefined;
      case 1:
        return ops[0];
      case 2: {
        const [a, b] = ops;
        return (f) => {
          a(f);
          return b(f);
        };
      }
      case 3: {
        const [a, b, c] = ops;
        return (f) => {
          a(f);
          b(f);
          return c(f);
        };
      }
      default: {
        const n = ops.length - 1;
        const last = ops[n];
        return (f) => {
          for (let i = 0; i < n; i++) ops[i](f);
          return last(f);
        };
      }
    }
  }

  /** Body of an if-branch / loop (a block expression without its own op cost). */
  body(e: Expr): Op {
    if (e.k === 'block') return this.block(e.body);
    const [op, cost] = this.expr(e);
    return charged(op, cost);
  }

  stmt(s: Stmt): Op {
    switch (s.k) {
      case 'expr': {
        const [op, cost] = this.expr(s.e);
        // Control-flow constructs are statements in Rhai: the statement itself is their one op.
        return charged(op, STMT_LIKE.has(s.e.k) ? cost : cost + 1);
      }
      case 'let': {
        const d = this.r.declOf.get(s)!;
        const [v, cost] = s.value ? this.expr(s.value, true) : [() => undefined, 0];
        const slot = d.index;
        const op: Op = d.captured
          ? (f) => {
              f.s[slot] = new Cell(v(f));
              return undefined;
            }
          : (f) => {
              f.s[slot] = v(f);
              return undefined;
            };
        return charged(op, cost + 1);
      }
      case 'assign':
        return this.assign(s);
      case 'try':
        return this.tryStmt(s);
      case 'noop':
        return () => undefined;
    }
  }

  private tryStmt(s: Extract<Stmt, { k: 'try' }>): Op {
    const body = this.body(s.body);
    const handler = this.body(s.handler);
    const errSlot = this.r.tryErrSlot.get(s)!;
    const d = s.catchVar ? this.r.declOf.get(s) : undefined;
    const op: Op = (f) => {
      try {
        body(f);
      } catch (e) {
        if (e instanceof BreakSignal || e instanceof ContinueSignal || e instanceof ReturnSignal) throw e;
        if (e instanceof RangeError) throw fail('ErrorStackOverflow', 'Stack overflow', s.pos);
        if (!(e instanceof RhaiFailure) || e.isSystem) throw e;
        f.s[errSlot] = e as unknown as Value;
        if (d) {
          const v = errorToValue(e);
          f.s[d.index] = d.captured ? new Cell(v) : v;
        }
        handler(f);
      }
      return undefined;
    };
    return charged(op, 1);
  }

  private assign(s: Extract<Stmt, { k: 'assign' }>): Op {
    const place = this.place(s.target);
    const [val, vcost] = this.expr(s.value, true);
    const cost = 1 + vcost + 1 + this.placeCost(s.target);
    const pos = s.pos;
    const constRoot = place.constRoot;
    const nested = s.target.k === 'index' || s.target.k === 'prop';
    const rootGet = nested ? this.rootGet(s.target) : undefined;
    const direct = nested ? this.directElement(s.target) : undefined;
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
    if (place.isVar && s.target.k === 'var' && (op === '+' || op === '-')) {
      const d = this.r.varRef.get(s.target);
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
    const isVarTarget = s.target.k === 'var';
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
  private directElement(target: Expr): ((f: Frame, v: Value) => void) | undefined {
    if ((target.k !== 'index' && target.k !== 'prop') || target.target.k !== 'var') return undefined;
    const rootPlace = this.varPlace(target.target);
    const pos = target.pos;
    const safe = target.safe;
    const setRoot = rootPlace.set;
    const getRoot = rootPlace.get;
    if (target.k === 'prop') {
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
    const [idx] = this.expr(target.index);
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

  /**
   * The value of the variable (or `this`) a place like `x.a[1].b` starts from, read again
   * after a change to check it whole. For a place rooted in any other expression (a call's
   * result, a literal) the change went to a temporary: a value nothing keeps, so undefined
   * (and the expression is not evaluated twice).
   */
  private rootGet(e: Expr): Op {
    let root = e;
    while (root.k === 'index' || root.k === 'prop') root = root.target;
    if (root.k !== 'var' && root.k !== 'this') return () => undefined;
    return this.place(root).get;
  }

  private placeCost(e: Expr): number {
    if (e.k === 'index') return this.placeCost(e.target) + this.expr(e.index)[1];
    if (e.k === 'prop') return this.placeCost(e.target);
    return 0;
  }

  // ---------- places (assignment targets / method receivers) ----------

  place(e: Expr): Place {
    switch (e.k) {
      case 'var':
        return this.varPlace(e);
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
        const t = this.place(e.target);
        const [idx] = this.expr(e.index);
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
        const t = this.place(e.target);
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
        const [op, cost] = this.expr(e);
        return { get: charged(op, cost), set: () => undefined, isVar: false };
      }
    }
  }

  private varPlace(e: Extract<Expr, { k: 'var' }>): Place {
    const d = this.r.varRef.get(e);
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
    if (this.fs.kind === 'main') {
      const fnPtr = this.pc.fnNames.has(name) ? new FnPtr(name) : undefined;
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
    const fnPtr = this.pc.fnNames.has(name) ? new FnPtr(name) : undefined;
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

  // ---------- expressions ----------

  /** Compile an expression. `value`: the result is stored somewhere, so containers are copied. */
  expr(e: Expr, value = false): Compiled {
    switch (e.k) {
      case 'int':
      case 'str':
      case 'bool': {
        const v = e.v;
        return [() => v, 1];
      }
      case 'float': {
        const v = new RFloat(e.v);
        return [() => v, 1];
      }
      case 'char': {
        const v = new RChar(e.v);
        return [() => v, 1];
      }
      case 'unit':
        return [() => undefined, 1];
      case 'interp': {
        const parts = e.parts.map((p) => this.expr(p));
        const ops = parts.map((p) => p[0]);
        const pos = e.pos;
        return [
          (f) => {
            let s = '';
            for (const op of ops) s += interpDisplay(op(f));
            return f.rt.checkString(s, pos);
          },
          1 + sum(parts),
        ];
      }
      case 'array': {
        const items = e.items.map((x) => this.expr(x, true));
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
          1 + sum(items),
        ];
      }
      case 'map': {
        const entries = e.entries.map(([k, x]) => [k, this.expr(x, true)] as const);
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
      case 'var':
      case 'this': {
        const p = e.k === 'var' ? this.varPlace(e) : this.place(e);
        const d = e.k === 'var' ? this.r.varRef.get(e) : undefined;
        if (d && !d.captured && !d.isCapture) {
          const i = d.index;
          return [value ? (f) => cloneIfObj(f.s[i]) : (f) => f.s[i], 1];
        }
        const get = p.get;
        return [value ? (f) => cloneIfObj(get(f)) : get, 1];
      }
      case 'unary':
        return this.unary(e);
      case 'binary':
        return this.binary(e);
      case 'and':
      case 'or': {
        const [l, lc] = this.expr(e.l);
        const [r0, rc] = this.expr(e.r);
        const r = charged(r0, rc);
        const isAnd = e.k === 'and';
        const lp = e.l.pos;
        const rp = e.r.pos;
        return [
          (f) => {
            const a = l(f);
            if (typeof a !== 'boolean') throw mismatchBool(a, lp);
            if (a !== isAnd) return a;
            const b = r(f);
            if (typeof b !== 'boolean') throw mismatchBool(b, rp);
            return b;
          },
          1 + lc,
        ];
      }
      case 'coalesce': {
        const [l, lc] = this.expr(e.l, value);
        const [r0, rc] = this.expr(e.r, value);
        const r = charged(r0, rc);
        return [
          (f) => {
            const a = l(f);
            return a === undefined ? r(f) : a;
          },
          1 + lc,
        ];
      }
      case 'range': {
        const [from, fc] = e.from ? this.expr(e.from) : [() => 0, 0];
        const [to, tc] = e.to ? this.expr(e.to) : [() => Infinity, 0];
        const { inclusive, pos } = e;
        return [
          (f) => {
            const a = from(f);
            const b = to(f);
            if (!isInt(a) || !isInt(b)) throw fnNotFound(inclusive ? '..=' : '..', [a, b]).at(pos);
            return new RRange(Number(a), Number(b), inclusive);
          },
          1 + fc + tc,
        ];
      }
      case 'index':
        return this.index(e, value);
      case 'prop': {
        const [t, tc] = this.expr(e.target);
        const { name, pos, safe } = e;
        return [
          value
            ? (f) => cloneIfObj(propGet(t(f), name, pos, safe, f.rt))
            : (f) => propGet(t(f), name, pos, safe, f.rt),
          1 + tc,
        ];
      }
      case 'method':
        return this.method(e);
      case 'call':
        return this.call(e);
      case 'closure':
        return [this.pc.closure(e.fn, this.fs, this.r), 1];
      case 'block': {
        const b = this.block(e.body);
        return [value ? (f) => cloneIfObj(b(f)) : b, 1];
      }
      case 'if': {
        const [c, cc] = this.expr(e.cond);
        const t = this.body(e.then);
        const el = e.else ? this.body(e.else) : () => undefined;
        const cp = e.cond.pos;
        const op: Op = (f) => {
          const v = c(f);
          if (v === true) return t(f);
          if (v === false) return el(f);
          throw mismatchBool(v, cp);
        };
        return [value ? (f) => cloneIfObj(op(f)) : op, 1 + cc];
      }
      case 'switch':
        return this.switchExpr(e, value);
      case 'while':
        return this.whileExpr(e);
      case 'do':
        return this.doExpr(e);
      case 'for':
        return this.forExpr(e);
      case 'break': {
        const [v, vc] = e.value ? this.expr(e.value, true) : [() => undefined, 0];
        return [
          (f) => {
            throw new BreakSignal(v(f));
          },
          1 + vc,
        ];
      }
      case 'continue':
        return [
          () => {
            throw CONTINUE;
          },
          1,
        ];
      case 'return': {
        const [v, vc] = e.value ? this.expr(e.value, true) : [() => undefined, 0];
        return [
          (f) => {
            throw new ReturnSignal(v(f));
          },
          1 + vc,
        ];
      }
      case 'throw': {
        const rethrow = this.r.rethrowSlot.get(e);
        if (rethrow !== undefined) {
          return [
            (f) => {
              throw f.s[rethrow] as unknown as RhaiFailure;
            },
            1,
          ];
        }
        const [v, vc] = e.value ? this.expr(e.value, true) : [() => undefined, 0];
        const pos = e.pos;
        return [
          (f) => {
            const x = v(f);
            const s = display(x);
            throw new RhaiFailure('ErrorRuntime', s === '' ? 'Runtime error' : `Runtime error: ${s}`, pos, x);
          },
          1 + vc,
        ];
      }
    }
  }

  private unary(e: Extract<Expr, { k: 'unary' }>): Compiled {
    const [x, xc] = this.expr(e.e);
    const pos = e.pos;
    switch (e.op) {
      case '-':
        return [
          (f) => {
            const v = x(f);
            if (typeof v === 'number') return v === 0 ? 0 : -v;
            if (typeof v === 'bigint') return intNeg(v);
            if (v instanceof RFloat) return new RFloat(-v.v);
            throw fnNotFound('-', [v]).at(pos);
          },
          1 + xc,
        ];
      case '+':
        return [
          (f) => {
            const v = x(f);
            if (isInt(v) || v instanceof RFloat) return v;
            throw fnNotFound('+', [v]).at(pos);
          },
          1 + xc,
        ];
      case '!':
        return [
          (f) => {
            const v = x(f);
            if (typeof v === 'boolean') return !v;
            throw fnNotFound('!', [v]).at(pos);
          },
          1 + xc,
        ];
    }
  }

  private binary(e: Extract<Expr, { k: 'binary' }>): Compiled {
    const [l, lc] = this.expr(e.l);
    const [r, rc] = this.expr(e.r);
    const cost = 1 + lc + rc;
    const pos = e.pos;
    const op = e.op;
    const slow = (a: Value, b: Value, f: Frame) => slowBinary(op, a, b, pos, f.rt);
    switch (op) {
      case '+':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            if (typeof a === 'number' && typeof b === 'number') {
              const x = a + b;
              if (x <= MAX && x >= -MAX) return x;
            }
            return slow(a, b, f);
          },
          cost,
        ];
      case '-':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            if (typeof a === 'number' && typeof b === 'number') {
              const x = a - b;
              if (x <= MAX && x >= -MAX) return x;
            }
            return slow(a, b, f);
          },
          cost,
        ];
      case '*':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            if (typeof a === 'number' && typeof b === 'number') {
              const x = a * b;
              if (x <= MAX && x >= -MAX) return x === 0 ? 0 : x;
            }
            return slow(a, b, f);
          },
          cost,
        ];
      case '%':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            if (typeof a === 'number' && typeof b === 'number' && b !== 0) {
              const x = a % b;
              return x === 0 ? 0 : x;
            }
            return slow(a, b, f);
          },
          cost,
        ];
      case '<':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            return typeof a === 'number' && typeof b === 'number' ? a < b : slow(a, b, f);
          },
          cost,
        ];
      case '<=':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            return typeof a === 'number' && typeof b === 'number' ? a <= b : slow(a, b, f);
          },
          cost,
        ];
      case '>':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            return typeof a === 'number' && typeof b === 'number' ? a > b : slow(a, b, f);
          },
          cost,
        ];
      case '>=':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            return typeof a === 'number' && typeof b === 'number' ? a >= b : slow(a, b, f);
          },
          cost,
        ];
      case '==':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            return typeof a === 'number' && typeof b === 'number' ? a === b : slow(a, b, f);
          },
          cost,
        ];
      case '!=':
        return [
          (f) => {
            const a = l(f);
            const b = r(f);
            return typeof a === 'number' && typeof b === 'number' ? a !== b : slow(a, b, f);
          },
          cost,
        ];
      default:
        return [(f) => slow(l(f), r(f), f), cost];
    }
  }

  private index(e: Extract<Expr, { k: 'index' }>, value: boolean): Compiled {
    const [t, tc] = this.expr(e.target);
    const [i, ic] = this.expr(e.index);
    const { pos, safe } = e;
    const op: Op = (f) => {
      const c = t(f);
      const k = i(f);
      if (Array.isArray(c) && typeof k === 'number' && k >= 0 && k < c.length) return c[k];
      if (safe && c === undefined) return undefined;
      return indexGet(c, k, pos);
    };
    return [value ? (f) => cloneIfObj(op(f)) : op, 1 + tc + ic];
  }

  private switchExpr(e: Extract<Expr, { k: 'switch' }>, value: boolean): Compiled {
    const [subj, sc] = this.expr(e.subject);
    const cases = e.cases.map((c) => {
      const label = constValue(c.label);
      const guard = c.guard ? charged(...this.expr(c.guard)) : undefined;
      return { label, guard, guardPos: c.guard?.pos ?? c.pos, body: this.body(c.body) };
    });
    const def = e.def ? this.body(e.def) : () => undefined;
    const op: Op = (f) => {
      const v = subj(f);
      for (const c of cases) {
        const l = c.label;
        let hit: boolean;
        if (l instanceof RRange && !(v instanceof RRange)) {
          if (isInt(v) || v instanceof RFloat) {
            const n = toF(v);
            hit = n >= l.start && (l.inclusive ? n <= l.end : n < l.end);
          } else hit = false;
        } else hit = strictEqual(v, l);
        if (!hit) continue;
        if (c.guard) {
          const g = c.guard(f);
          if (typeof g !== 'boolean') throw mismatchBool(g, c.guardPos);
          if (!g) continue;
        }
        return c.body(f);
      }
      return def(f);
    };
    return [value ? (f) => cloneIfObj(op(f)) : op, 1 + sc];
  }

  private loopBody(body: Expr): { op: Op; empty: boolean; signals: boolean } {
    const empty = body.k === 'block' && body.body.every((s) => s.k === 'noop');
    return { op: this.body(body), empty, signals: hasLoopSignal(body) };
  }

  private whileExpr(e: Extract<Expr, { k: 'while' }>): Compiled {
    const cond = e.cond ? charged(...this.expr(e.cond)) : undefined;
    const { op: body, empty, signals } = this.loopBody(e.body);
    const cp = e.cond?.pos ?? e.pos;
    if (!signals) {
      return [
        (f) => {
          for (;;) {
            if (cond) {
              const c = cond(f);
              if (c === false) return undefined;
              if (c !== true) throw mismatchBool(c, cp);
            }
            if (empty) charge(f, 1);
            body(f);
          }
        },
        1,
      ];
    }
    return [
      (f) => {
        for (;;) {
          if (cond) {
            const c = cond(f);
            if (c === false) return undefined;
            if (c !== true) throw mismatchBool(c, cp);
          }
          try {
            body(f);
          } catch (x) {
            if (x instanceof BreakSignal) return x.value;
            if (x !== CONTINUE) throw x;
          }
        }
      },
      1,
    ];
  }

  private doExpr(e: Extract<Expr, { k: 'do' }>): Compiled {
    const cond = charged(...this.expr(e.cond));
    const { op: body, empty } = this.loopBody(e.body);
    const cp = e.cond.pos;
    const until = e.until;
    return [
      (f) => {
        for (;;) {
          if (empty) charge(f, 1);
          try {
            body(f);
          } catch (x) {
            if (x instanceof BreakSignal) return x.value;
            if (x !== CONTINUE) throw x;
          }
          const c = cond(f);
          if (typeof c !== 'boolean') throw mismatchBool(c, cp);
          if (c === until) return undefined;
        }
      },
      1,
    ];
  }

  private forExpr(e: Extract<Expr, { k: 'for' }>): Compiled {
    const [iter, ic] = this.expr(e.iter);
    const d = this.r.declOf.get(e)!;
    const cd = this.r.counterOf.get(e);
    const { op: body, signals } = this.loopBody(e.body);
    const slot = d.index;
    const pos = e.iter.pos;
    // Runs one iteration; returns true to stop the loop (break).
    const step = signals
      ? (f: Frame): BreakSignal | undefined => {
          try {
            body(f);
          } catch (x) {
            if (x instanceof BreakSignal) return x;
            if (x !== CONTINUE) throw x;
          }
          return undefined;
        }
      : (f: Frame): BreakSignal | undefined => {
          body(f);
          return undefined;
        };
    const cell = d.captured;
    const ccell = cd?.captured ?? false;
    return [
      (f) => {
        const src = iter(f);
        let setVar: (v: Value) => void;
        if (cell) {
          const c = new Cell(undefined);
          f.s[slot] = c as unknown as Value;
          setVar = (v) => (c.v = v);
        } else setVar = (v) => (f.s[slot] = v);
        let setCounter: ((n: number) => void) | undefined;
        if (cd) {
          if (ccell) {
            const c = new Cell(0);
            f.s[cd.index] = c as unknown as Value;
            setCounter = (n) => (c.v = n);
          } else setCounter = (n) => (f.s[cd.index] = n);
        }
        const rt = f.rt;
        if (src instanceof RRange && !cell && !cd) {
          const end = src.inclusive ? src.end + 1 : src.end;
          for (let i = src.start; i < end; i++) {
            if ((rt.ops += 1) > rt.limit) rt.overLimit();
            f.s[slot] = i;
            const b = step(f);
            if (b) return b.value;
          }
          return undefined;
        }
        let n = 0;
        const each = (v: Value): BreakSignal | undefined => {
          if ((rt.ops += 1) > rt.limit) rt.overLimit();
          setVar(v);
          if (setCounter) setCounter(n);
          n++;
          return step(f);
        };
        if (src instanceof RRange) {
          const end = src.inclusive ? src.end + 1 : src.end;
          for (let i = src.start; i < end; i++) {
            const b = each(i);
            if (b) return b.value;
          }
        } else if (Array.isArray(src)) {
          const snap = src.slice();
          for (const v of snap) {
            const b = each(cloneIfObj(v));
            if (b) return b.value;
          }
        } else if (typeof src === 'string') {
          for (const ch of toChars(src)) {
            const b = each(new RChar(ch));
            if (b) return b.value;
          }
        } else if (src instanceof RStepRange) {
          const { from, to, step: st, isFloat } = src;
          for (let x = from; st > 0 ? x < to : x > to; x += st) {
            const b = each(isFloat ? new RFloat(x) : x);
            if (b) return b.value;
          }
        } else throw fail('ErrorFor', 'For loop expects iterable type', pos);
        return undefined;
      },
      1 + ic,
    ];
  }

  // ---------- calls ----------

  private argsOf(args: readonly Expr[]): [Op[], number] {
    const cs = args.map((a) => this.expr(a, true));
    return [cs.map((c) => c[0]), sum(cs)];
  }

  private call(e: Extract<Expr, { k: 'call' }>): Compiled {
    const { name, pos } = e;
    const n = e.args.length;
    const [args, acost] = this.argsOf(e.args);
    const cost = 2 + acost;
    const pc = this.pc;
    const evalArgs = (f: Frame): Value[] => {
      const out = new Array<Value>(args.length);
      for (let i = 0; i < args.length; i++) out[i] = args[i](f);
      return out;
    };
    const special = this.specialCall(e, args, evalArgs);
    if (special) return [special, cost];
    const sf = pc.fns.get(`${name}/${n}`);
    if (sf) {
      if (n === 1) {
        const a0 = args[0];
        return [(f) => callScript(sf, [a0(f)], undefined, f.rt, pos), cost];
      }
      return [(f) => callScript(sf, evalArgs(f), undefined, f.rt, pos), cost];
    }
    const b = BUILTINS[name];
    if (b && n > 0 && (e.args[0].k === 'var' || e.args[0].k === 'this')) {
      // Built-in mutators called as f(var, ...) still mutate the variable.
      const place = this.place(e.args[0]);
      const isVarArg = e.args[0].k === 'var';
      const rest = args.slice(1);
      return [
        (f) => {
          const recv = place.get(f);
          const all = new Array<Value>(n);
          all[0] = recv;
          for (let i = 1; i < n; i++) all[i] = rest[i - 1](f);
          if (place.constRoot && isMutator(name, recv) && place.constRoot(f) !== undefined) {
            throw fail(
              'ErrorNonPureMethodCallOnConstant',
              `Non-pure method '${name}' cannot be called on constant`,
              pos,
            );
          }
          const rt = f.rt;
          if (!rt.limited) {
            const r = pc.callBuiltin(f, name, b, all, pos);
            if (all[0] !== recv) place.set(f, all[0]);
            return r;
          }
          const ep = rt.epoch;
          const r = pc.callBuiltin(f, name, b, all, pos, isVarArg && isContainer(recv) ? recv : undefined);
          if (all[0] !== recv) place.set(f, all[0]);
          if (rt.epoch !== ep && isContainer(recv) && all.some((x) => x instanceof FnPtr))
            checkDataSize(rt, place.get(f), pos);
          return r;
        },
        cost,
      ];
    }
    if (b) return [(f) => pc.callBuiltin(f, name, b, evalArgs(f), pos), cost];
    return [
      (f) => {
        throw fnNotFound(name, evalArgs(f)).at(pos);
      },
      cost,
    ];
  }

  private specialCall(
    e: Extract<Expr, { k: 'call' }>,
    args: Op[],
    evalArgs: (f: Frame) => Value[],
  ): Op | undefined {
    const { name, pos } = e;
    const pc = this.pc;
    switch (name) {
      case 'Fn':
        if (args.length !== 1) return undefined;
        return (f) => {
          const v = args[0](f);
          if (typeof v !== 'string') throw fnNotFound('Fn', [v]).at(pos);
          if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(v) && !v.startsWith('anon$')) {
            throw fail('ErrorFunctionNotFound', `Function not found: ${v}`, pos);
          }
          return new FnPtr(v);
        };
      case 'call':
        if (args.length < 1) return undefined;
        return (f) => {
          const all = evalArgs(f);
          const fp = all[0];
          if (!(fp instanceof FnPtr)) throw fnNotFound('call', all).at(pos);
          return pc.callPtr(f, fp, all.slice(1), undefined, pos);
        };
      case 'curry':
        if (args.length < 1) return undefined;
        return (f) => {
          const all = evalArgs(f);
          const fp = all[0];
          if (!(fp instanceof FnPtr)) throw fnNotFound('curry', all).at(pos);
          return curried(f.rt, fp, all.slice(1), pos);
        };
      case 'print':
      case 'debug':
        if (args.length !== 1) return undefined;
        return (f) => {
          const v = args[0](f);
          const host = f.rt.host;
          if (name === 'print') host.onPrint?.(display(v));
          else (host.onDebug ?? host.onPrint)?.(debug(v));
          return undefined;
        };
      case 'is_def_fn':
        if (args.length !== 2) return undefined;
        return (f) => {
          const [n, a] = evalArgs(f);
          return typeof n === 'string' && isInt(a) && pc.fns.has(`${n}/${a}`);
        };
      case 'is_def_var': {
        if (args.length !== 1) return undefined;
        const names = new Set(this.r.visibleNames.get(e) ?? []);
        const main = this.fs.kind === 'main';
        return (f) => {
          const n = args[0](f);
          return typeof n === 'string' && (names.has(n) || (main && f.rt.globals.has(n)));
        };
      }
    }
    return undefined;
  }

  private method(e: Extract<Expr, { k: 'method' }>): Compiled {
    const { name, pos, safe } = e;
    const place = this.place(e.target);
    const [, tcost] = e.target.k === 'var' || e.target.k === 'this' ? [undefined, 1] : this.expr(e.target);
    const [args, acost] = this.argsOf(e.args);
    const n = args.length;
    const pc = this.pc;
    const sf = pc.fns.get(`${name}/${n}`);
    const b = BUILTINS[name];
    const cost = 2 + tcost + acost;
    const isPlace =
      e.target.k === 'var' || e.target.k === 'this' || e.target.k === 'index' || e.target.k === 'prop';
    // size accounting (only when the run has data-size limits)
    const isVarTarget = e.target.k === 'var';
    const nested = e.target.k === 'index' || e.target.k === 'prop';
    const rootGet = nested ? this.rootGet(e.target) : undefined;
    const parentGet = this.parentOfElement(e.target);
    /** The call itself; `root` as in CallCx. */
    const invoke = (f: Frame, recv: Value, av: Value[], root: Container | undefined): Value => {
      // Function pointer methods
      if (recv instanceof FnPtr) {
        if (name === 'call') return pc.callPtr(f, recv, av, undefined, pos);
        if (name === 'curry') return curried(f.rt, recv, av, pos);
      }
      if (name === 'call' && n >= 1 && av[0] instanceof FnPtr) {
        const cell = place.cell?.(f) ?? new Cell(recv);
        const r = pc.callPtr(f, av[0], av.slice(1), cell, pos);
        if (isPlace && !place.cell?.(f) && cell.v !== recv) writeBack(f, cell.v);
        return r;
      }
      if (recv instanceof Map) {
        const prop = recv.get(name);
        if (prop instanceof FnPtr) {
          const cell = new Cell(recv);
          const r = pc.callPtr(f, prop, av, cell, pos);
          if (isPlace && cell.v !== recv) writeBack(f, cell.v);
          return r;
        }
      }
      if (sf) {
        const shared = place.cell?.(f);
        const cell = shared ?? new Cell(recv);
        const r = callScript(sf, av, cell, f.rt, pos);
        if (isPlace && !shared && cell.v !== recv) writeBack(f, cell.v);
        return r;
      }
      if (b) {
        const all = [recv, ...av];
        if (isPlace && place.constRoot && isMutator(name, recv) && place.constRoot(f) !== undefined) {
          throw fail(
            'ErrorNonPureMethodCallOnConstant',
            `Non-pure method '${name}' cannot be called on constant`,
            pos,
          );
        }
        const r = pc.callBuiltin(f, name, b, all, pos, root);
        if (isPlace && all[0] !== recv) {
          // a string method's new value replaces an element: accounted like `m.s = …`
          if (root !== undefined && root !== recv && f.rt.limited)
            reserve(f.rt, root, root, replaceDelta(recv, all[0], f.rt), pos);
          writeBack(f, all[0]);
        }
        return r;
      }
      throw fnNotFound(name, [recv, ...av]).at(pos);
    };
    /** A new value written into the place (an element of a container when `nested`). */
    const writeBack = (f: Frame, v: Value): void => {
      place.set(f, v);
      if (nested && f.rt.limited) f.rt.epoch++;
    };
    return [
      (f) => {
        const recv = place.get(f);
        if (safe && recv === undefined) return undefined;
        const av = new Array<Value>(n);
        for (let i = 0; i < n; i++) av[i] = args[i](f);
        const rt = f.rt;
        if (!rt.limited) return invoke(f, recv, av, undefined);
        let root: Container | undefined;
        if (isVarTarget) root = isContainer(recv) ? recv : undefined;
        else if (parentGet) {
          const parent = parentGet(f);
          if (parent !== undefined && (isContainer(recv) || typeof recv === 'string')) root = parent;
        }
        const ep = rt.epoch;
        const r = invoke(f, recv, av, root);
        if (rt.epoch !== ep) {
          // something changed without being accounted: the variable's whole value is checked
          if (nested) checkDataSize(rt, rootGet!(f), pos);
          else if (sf || !b || av.some((x) => x instanceof FnPtr) || recv instanceof Map)
            checkDataSize(rt, place.get(f), pos);
        }
        return r;
      },
      cost,
    ];
  }

  /**
   * For a method target `x.k` / `x[i]` where `x` is a variable: an op giving `x`'s value when
   * the target is one of its elements (x a map, or an array indexed), else undefined.
   */
  private parentOfElement(target: Expr): ((f: Frame) => Container | undefined) | undefined {
    if ((target.k !== 'index' && target.k !== 'prop') || target.target.k !== 'var') return undefined;
    const get = this.varPlace(target.target).get;
    if (target.k === 'prop') {
      return (f) => {
        const v = get(f);
        return v instanceof Map ? v : undefined;
      };
    }
    return (f) => {
      const v = get(f);
      return isContainer(v) ? v : undefined;
    };
  }
}

function sum(cs: readonly Compiled[]): number {
  let s = 0;
  for (const c of cs) s += c[1];
  return s;
}

/** `fp.curry(args…)`: the curried values count toward the size limits like array elements. */
function curried(rt: Runtime, fp: FnPtr, args: readonly Value[], pos: Pos): FnPtr {
  const r = new FnPtr(fp.name, [...fp.curried, ...args], fp.closure, fp.captures);
  if (rt.limited) checkDataSize(rt, r, pos);
  return r;
}

/** Property read: map field lookup (missing → unit) or a built-in getter. */
function propGet(c: Value, name: string, pos: Pos, safe: boolean, rt: Runtime): Value {
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

/** Whole-program compiler: function table, closures, call helpers. */
export class ProgramCompiler {
  readonly fns = new Map<string, CompiledFn>();
  readonly fnNames = new Set<string>();
  res!: Resolution;

  compile(script: Script): CompiledProgram {
    this.res = resolve(script);
    for (const def of script.fns) {
      this.fnNames.add(def.name);
      this.fns.set(`${def.name}/${def.params.length}`, this.makeFn(def, def.name));
    }
    for (const def of script.fns) this.fillFn(this.fns.get(`${def.name}/${def.params.length}`)!, def);
    const mainScope = this.res.fnScopeOf.get('main')!;
    const main = new CompiledFn('', [], 0, [], NO_POS);
    const mc = new FnCompiler(this, mainScope);
    const body = mc.block(script.stmts);
    const prog: CompiledProgram = {
      main: Object.assign(main, { nslots: mainScope.nslots, body }),
      fns: this.fns,
    };
    return prog;
  }

  private makeFn(def: FnDef, name: string): CompiledFn {
    const params = this.res.paramsOf.get(def)!;
    return new CompiledFn(
      name,
      def.params,
      0,
      params.map((d) => d.captured),
      def.pos,
    );
  }

  private fillFn(fn: CompiledFn, def: FnDef): void {
    const fs = this.res.fnScopeOf.get(def)!;
    (fn as { nslots: number }).nslots = fs.nslots;
    const c = new FnCompiler(this, fs);
    fn.body = compileFnBody(c, def.body);
  }

  /** Compile a closure literal into an op creating the function pointer. */
  closure(def: FnDef, outer: FnScope, res: Resolution): Op {
    void outer;
    const fs = res.fnScopeOf.get(def)!;
    const name = `anon$${(def.pos.line * 65536 + def.pos.pos).toString(16).padStart(16, '0')}`;
    const fn = this.makeFn(def, name);
    this.fillFn(fn, def);
    const caps = fs.captures.map((c) => c.outer);
    return (f) => {
      const cells = new Array<Cell>(caps.length);
      for (let i = 0; i < caps.length; i++) {
        const o = caps[i];
        if (o instanceof Decl) cells[i] = o.isCapture ? f.caps[o.index] : (f.s[o.index] as unknown as Cell);
        else if (typeof o === 'string') cells[i] = f.rt.globals.get(o) ?? missingCell(o);
        else cells[i] = missingCell('?');
      }
      return new FnPtr(name, [], fn, cells);
    };
  }

  /** Call a function pointer (closure or named function). */
  callPtr(f: Frame, fp: FnPtr, args: Value[], th: Cell | undefined, pos: Pos): Value {
    const all = fp.curried.length ? [...fp.curried, ...args] : args;
    if (fp.closure) {
      const fn = fp.closure as CompiledFn;
      if (fn.params.length !== all.length) throw fnNotFound(fp.name, all).at(pos);
      if (th && fp.captures?.includes(th)) {
        throw fail(
          'ErrorDataRace',
          `Data race detected on variable 'argument #1 of function '${fp.name}''`,
          pos,
        );
      }
      return callScript(fn, all, th, f.rt, pos, fp.captures);
    }
    const sf = this.fns.get(`${fp.name}/${all.length}`);
    if (sf) return callScript(sf, all, th, f.rt, pos);
    const b = BUILTINS[fp.name];
    if (b) {
      const bargs = th ? [th.v, ...all] : all;
      const r = this.callBuiltin(f, fp.name, b, bargs, pos);
      if (th && bargs[0] !== th.v) th.v = bargs[0];
      return r;
    }
    throw fnNotFound(fp.name, all).at(pos);
  }

  /**
   * Call a built-in. `root`: the variable-held container `args[0]` is or belongs to (CallCx).
   * A container mutator that does not account its size change bumps the size epoch.
   */
  callBuiltin(
    f: Frame,
    name: string,
    b: (a: Value[], cx: CallCx) => Value,
    args: Value[],
    pos: Pos,
    root?: Container,
  ): Value {
    const cx = this.cx(f, pos, root);
    const rt = f.rt;
    // one call on a large receiver (`replace` on 1 MB) is far more than one operation's work:
    // the deadline is looked at before it, not only every few thousand operations
    const a0 = args[0];
    if (
      (typeof a0 === 'string' || Array.isArray(a0) ? a0.length : a0 instanceof Map ? a0.size : 0) >
      LARGE_RECEIVER
    )
      rt.checkClock(pos);
    const bump = rt.limited && isUnaccountedMutator(name, args[0]);
    if (bump) rt.epoch++;
    try {
      return b(args, cx);
    } catch (e) {
      if (e === NO_MATCH) throw fnNotFound(name, args).at(pos);
      if (e instanceof RhaiFailure) e.at(pos);
      throw e;
    } finally {
      if (bump) rt.epoch++;
    }
  }

  private cx(f: Frame, pos: Pos, root?: Container): CallCx {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the returned object's methods need the compiler
    const pc = this;
    return {
      rt: f.rt,
      pos,
      root,
      callFn: (fp, args, th) => {
        charge(f, 1);
        return pc.callPtr(f, fp, args, th, pos);
      },
      fnArity: (fp) => {
        const c = fp.curried.length;
        if (fp.closure) return fp.closure.params.length - c;
        for (let n = 0; n < 16; n++) if (pc.fns.has(`${fp.name}/${n + c}`)) return n;
        return undefined;
      },
      hasScriptFn: (name, arity) => pc.fns.has(`${name}/${arity}`),
    };
  }
}

/** Function body: a block, with a trailing `return x` compiled as a plain value. */
function compileFnBody(c: FnCompiler, body: Expr): Op {
  if (body.k === 'block' && body.body.length > 0) {
    const last = body.body[body.body.length - 1];
    if (last.k === 'expr' && last.e.k === 'return') {
      const init = body.body.slice(0, -1);
      const ret = last.e;
      const stmts: Stmt[] = [
        ...init,
        ret.value
          ? { k: 'expr', pos: last.pos, e: ret.value }
          : { k: 'expr', pos: last.pos, e: { k: 'unit', pos: last.pos } },
      ];
      return c.block(stmts);
    }
  }
  return c.body(body);
}

/** Compile a parsed script. */
export function compileScript(script: Script): CompiledProgram {
  return new ProgramCompiler().compile(script);
}
