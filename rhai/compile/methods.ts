/**
 * Method calls (Rhai: `eval/chaining.rs` dot chains, `func/call.rs` method calls): the
 * receiver is a {@link Place}, so methods mutate variables and elements in place; size
 * accounting (when the run has size limits) is against the variable that holds the receiver.
 */
import type { Expr, ExprOf } from '../ast';
import { BUILTINS, isMutator } from '../builtins/index';
import { fail } from '../errors';
import { fnNotFound } from '../operators';
import type { Frame } from '../runtime';
import { checkDataSize, type Container, isContainer, replaceDelta, reserve } from '../sizes';
import { Cell, FnPtr, type Value } from '../values';
import { argsOf } from './calls';
import type { Compiled, FnCompiler } from './context';
import { callScript, curried } from './invoke';
import { placeOf, rootReader, varPlaceOf } from './places';

/**
 * `x.name(args)`: in this order, a function pointer's `call` / `curry`, `x.call(fp, ...)` with
 * `this` bound to `x`, a map property holding a function pointer, a script function with
 * `this` bound, a built-in. A new value of the receiver is written back to its place.
 */
export function method(fc: FnCompiler, e: ExprOf<'method'>): Compiled {
  const { name, pos, safe } = e;
  const place = placeOf(fc, e.target);
  const [, tcost] = e.target.kind === 'var' || e.target.kind === 'this' ? [undefined, 1] : fc.expr(e.target);
  const [args, acost] = argsOf(fc, e.args);
  const n = args.length;
  const fns = fc.fns;
  const sf = fns.get(name, n);
  const b = BUILTINS[name];
  const cost = 2 + tcost + acost;
  const isPlace =
    e.target.kind === 'var' ||
    e.target.kind === 'this' ||
    e.target.kind === 'index' ||
    e.target.kind === 'prop';
  // size accounting (only when the run has data-size limits)
  const isVarTarget = e.target.kind === 'var';
  const nested = e.target.kind === 'index' || e.target.kind === 'prop';
  const rootGet = nested ? rootReader(fc, e.target) : undefined;
  const parentGet = parentOfElement(fc, e.target);
  /** The call itself; `root` as in CallCx. */
  const invoke = (f: Frame, recv: Value, av: Value[], root: Container | undefined): Value => {
    // Function pointer methods
    if (recv instanceof FnPtr) {
      if (name === 'call') return fns.callPtr(f, recv, av, undefined, pos);
      if (name === 'curry') return curried(f.rt, recv, av, pos);
    }
    if (name === 'call' && n >= 1 && av[0] instanceof FnPtr) {
      const cell = place.cell?.(f) ?? new Cell(recv);
      const r = fns.callPtr(f, av[0], av.slice(1), cell, pos);
      if (isPlace && !place.cell?.(f) && cell.v !== recv) writeBack(f, cell.v);
      return r;
    }
    if (recv instanceof Map) {
      const prop = recv.get(name);
      if (prop instanceof FnPtr) {
        const cell = new Cell(recv);
        const r = fns.callPtr(f, prop, av, cell, pos);
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
      const r = fns.callBuiltin(f, name, b, all, pos, root);
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
function parentOfElement(fc: FnCompiler, target: Expr): ((f: Frame) => Container | undefined) | undefined {
  if ((target.kind !== 'index' && target.kind !== 'prop') || target.target.kind !== 'var') return undefined;
  const get = varPlaceOf(fc, target.target).get;
  if (target.kind === 'prop') {
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
