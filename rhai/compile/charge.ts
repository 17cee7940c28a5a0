/**
 * Operation counting (SUBSET.md §11), where the `maxOperations` budget and the deadline are
 * enforced: each compiled expression reports a static cost (its always-evaluated nodes);
 * statements charge their total once, conditional parts (short-circuit operands, branches,
 * loop conditions and iterations, calls) charge when they run. This matches Rhai's per-node
 * counting while touching the counter once per statement. Crossing `rt.limit` runs
 * `Runtime.overLimit`, which checks the budget and, every `deadlineCheckOps`, the clock.
 */
import type { Frame, Op } from '../runtime';
import type { Compiled } from './context';

/** Charge `k` operations now (loop iterations, callbacks from built-ins). */
export function charge(f: Frame, k: number): void {
  const rt = f.rt;
  if ((rt.ops += k) > rt.limit) rt.overLimit();
}

/** `op`, charging `cost` operations before each run of it. */
export function charged(op: Op, cost: number): Op {
  if (cost === 0) return op;
  return (f) => {
    const rt = f.rt;
    if ((rt.ops += cost) > rt.limit) rt.overLimit();
    return op(f);
  };
}

/** Total static cost of a list of compiled expressions. */
export function sumCosts(cs: readonly Compiled[]): number {
  let s = 0;
  for (const c of cs) s += c[1];
  return s;
}
