/**
 * Function-call syntax `name(args)` (Rhai: `eval/expr.rs` FnCall, `func/call.rs`): resolved
 * at compile time to a script function or a built-in; the call itself runs in invoke.ts.
 */
import type { Expr, ExprOf } from '../ast';
import { BUILTINS, isMutator } from '../builtins/index';
import { fail } from '../errors';
import { fnNotFound } from '../operators';
import type { Frame, Op } from '../runtime';
import { checkDataSize, isContainer } from '../sizes';
import { FnPtr, type Value } from '../values';
import { sumCosts } from './charge';
import type { Compiled, FnCompiler } from './context';
import { callScript } from './invoke';
import { keywordCall } from './keyword-calls';
import { placeOf } from './places';

/** Arguments are values: each is copied when it is a container. */
export function argsOf(fc: FnCompiler, args: readonly Expr[]): [Op[], number] {
  const cs = args.map((a) => fc.expr(a, true));
  return [cs.map((c) => c[0]), sumCosts(cs)];
}

/**
 * `name(args)`: a keyword function (keyword-calls.ts), a script function (by arity), or a
 * built-in; a built-in mutator called as `push(a, x)` still mutates the variable `a`.
 */
export function call(fc: FnCompiler, e: ExprOf<'call'>): Compiled {
  const { name, pos } = e;
  const n = e.args.length;
  const [args, acost] = argsOf(fc, e.args);
  const cost = 2 + acost;
  const fns = fc.fns;
  const evalArgs = (f: Frame): Value[] => {
    const out = new Array<Value>(args.length);
    for (let i = 0; i < args.length; i++) out[i] = args[i](f);
    return out;
  };
  const special = keywordCall(fc, e, args, evalArgs);
  if (special) return [special, cost];
  const sf = fns.get(name, n);
  if (sf) {
    if (n === 1) {
      const a0 = args[0];
      return [(f) => callScript(sf, [a0(f)], undefined, f.rt, pos), cost];
    }
    return [(f) => callScript(sf, evalArgs(f), undefined, f.rt, pos), cost];
  }
  const b = BUILTINS[name];
  if (b && n > 0 && (e.args[0].kind === 'var' || e.args[0].kind === 'this')) {
    // Built-in mutators called as f(var, ...) still mutate the variable.
    const place = placeOf(fc, e.args[0]);
    const isVarArg = e.args[0].kind === 'var';
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
          const r = fns.callBuiltin(f, name, b, all, pos);
          if (all[0] !== recv) place.set(f, all[0]);
          return r;
        }
        const ep = rt.epoch;
        const r = fns.callBuiltin(f, name, b, all, pos, isVarArg && isContainer(recv) ? recv : undefined);
        if (all[0] !== recv) place.set(f, all[0]);
        if (rt.epoch !== ep && isContainer(recv) && all.some((x) => x instanceof FnPtr))
          checkDataSize(rt, place.get(f), pos);
        return r;
      },
      cost,
    ];
  }
  if (b) return [(f) => fns.callBuiltin(f, name, b, evalArgs(f), pos), cost];
  return [
    (f) => {
      throw fnNotFound(name, evalArgs(f)).at(pos);
    },
    cost,
  ];
}
