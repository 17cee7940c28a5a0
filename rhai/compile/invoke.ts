/**
 * Calls at run time: script functions and closures (where the call depth, `maxCallLevels`, is
 * checked), function pointers, and built-ins (where the deadline is checked before work on a
 * large receiver). Rhai: `func/call.rs`.
 */
import { BUILTINS, isUnaccountedMutator } from '../builtins/index';
import { type CallCx, NO_MATCH } from '../builtins/registry';
import { fail, type Pos, ReturnSignal, RhaiFailure } from '../errors';
import { fnNotFound } from '../operators';
import { Frame, type Op, type Runtime } from '../runtime';
import { checkDataSize, type Container } from '../sizes';
import { Cell, cloneValue, FnPtr, type Value } from '../values';
import { charge } from './charge';

/** A compiled script function or closure body. `paramCells[i]`: parameter i is captured by a closure. */
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

/** Elements/characters from which a built-in call's receiver counts as large (see callBuiltin). */
const LARGE_RECEIVER = 1 << 16;

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

/**
 * Invoke a compiled script function in a new frame: the call depth (`maxCallLevels`) is
 * checked here; an error escaping the body becomes `ErrorInFunctionCall` at the call.
 */
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
  const cells = fn.paramCells;
  for (let i = 0; i < cells.length; i++) s[i] = cells[i] ? new Cell(args[i]) : args[i];
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

/** `fp.curry(args…)`: the curried values count toward the size limits like array elements. */
export function curried(rt: Runtime, fp: FnPtr, args: readonly Value[], pos: Pos): FnPtr {
  const r = new FnPtr(fp.name, [...fp.curried, ...args], fp.closure, fp.captures);
  if (rt.limited) checkDataSize(rt, r, pos);
  return r;
}

/** The script's functions, by name and arity (Rhai overloads script functions by arity). */
export class FnTable {
  private readonly byKey = new Map<string, CompiledFn>();
  /** names with at least one arity: a bare name that is not a variable is a function pointer */
  private readonly names = new Set<string>();

  add(fn: CompiledFn): void {
    this.names.add(fn.name);
    this.byKey.set(`${fn.name}/${fn.params.length}`, fn);
  }

  get(name: string, arity: number | bigint): CompiledFn | undefined {
    return this.byKey.get(`${name}/${arity}`);
  }

  has(name: string, arity: number | bigint): boolean {
    return this.byKey.has(`${name}/${arity}`);
  }

  hasName(name: string): boolean {
    return this.names.has(name);
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
    const sf = this.get(fp.name, all.length);
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
    const cx = this.callCx(f, pos, root);
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

  /** What a built-in may use of the engine (registry.ts), at this call. */
  private callCx(f: Frame, pos: Pos, root?: Container): CallCx {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the context's callbacks need the table
    const fns = this;
    return {
      rt: f.rt,
      pos,
      root,
      callFn: (fp, args, th) => {
        charge(f, 1);
        return fns.callPtr(f, fp, args, th, pos);
      },
      fnArity: (fp) => {
        const c = fp.curried.length;
        if (fp.closure) return fp.closure.params.length - c;
        for (let n = 0; n < 16; n++) if (fns.has(fp.name, n + c)) return n;
        return undefined;
      },
      hasScriptFn: (name, arity) => fns.has(name, arity),
    };
  }
}
