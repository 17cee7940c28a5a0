import { Cell, type FnPtr, type Value } from '../values';
import type { CallCx } from './registry';

/**
 * Call a callback the way Rhai's array/map methods do: depending on the callback's arity the
 * element is bound to `this`, or passed as the first argument, and optional extra arguments
 * (e.g. the index) are appended. Returns the result and the (possibly modified) `this`.
 */
export function callBack(
  cx: CallCx,
  fp: FnPtr,
  item: Value,
  args: readonly Value[],
  extras: readonly Value[],
  moveThis: boolean,
): { r: Value; item: Value } {
  const arity = cx.fnArity(fp);
  const n = args.length;
  if (arity === n && moveThis) {
    const cell = new Cell(item);
    const r = cx.callFn(fp, [...args], cell);
    return { r, item: cell.v };
  }
  if (moveThis) {
    if (arity === n + 1 || arity === undefined) return { r: cx.callFn(fp, [item, ...args]), item };
    return { r: cx.callFn(fp, [item, ...args, ...extras]), item };
  }
  if (arity === n || arity === undefined) return { r: cx.callFn(fp, [...args]), item };
  return { r: cx.callFn(fp, [...args, ...extras]), item };
}

/** For `for_each`-style calls: `this` is the element, extras passed as arguments. */
export function callWithThis(
  cx: CallCx,
  fp: FnPtr,
  item: Value,
  extras: readonly Value[],
): { r: Value; item: Value } {
  const arity = cx.fnArity(fp);
  const cell = new Cell(item);
  const r = cx.callFn(fp, arity === 0 ? [] : [...extras], cell);
  return { r, item: cell.v };
}
