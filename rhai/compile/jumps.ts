/**
 * Jumps: `break`, `continue`, `return`, `throw`. The first three throw control-flow signals
 * (errors.ts) that loops and calls catch; `throw` raises `ErrorRuntime` carrying its value.
 */
import type { ExprOf } from '../ast';
import { BreakSignal, CONTINUE, ReturnSignal, RhaiFailure } from '../errors';
import { display } from '../format';
import type { Compiled, FnCompiler } from './context';

export function breakExpr(fc: FnCompiler, e: ExprOf<'break'>): Compiled {
  const [v, vc] = e.value ? fc.expr(e.value, true) : [() => undefined, 0];
  return [
    (f) => {
      throw new BreakSignal(v(f));
    },
    1 + vc,
  ];
}

export function continueExpr(): Compiled {
  return [
    () => {
      throw CONTINUE;
    },
    1,
  ];
}

export function returnExpr(fc: FnCompiler, e: ExprOf<'return'>): Compiled {
  const [v, vc] = e.value ? fc.expr(e.value, true) : [() => undefined, 0];
  return [
    (f) => {
      throw new ReturnSignal(v(f));
    },
    1 + vc,
  ];
}

/** `throw value`; a bare `throw` inside `catch` rethrows the caught error (resolve.ts slot). */
export function throwExpr(fc: FnCompiler, e: ExprOf<'throw'>): Compiled {
  const rethrow = fc.res.rethrowSlot.get(e);
  if (rethrow !== undefined) {
    return [
      (f) => {
        throw f.s[rethrow] as unknown as RhaiFailure;
      },
      1,
    ];
  }
  const [v, vc] = e.value ? fc.expr(e.value, true) : [() => undefined, 0];
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
