import { Cell, cloneValue, type FnPtr, type Value } from '../values';
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
    // an element passed as an argument is a copy (value semantics): the callback may change
    // its parameter without changing the array
    const copy = typeof item === 'object' ? cloneValue(item) : item;
    if (arity === n + 1 || arity === undefined) return { r: cx.callFn(fp, [copy, ...args]), item };
    return { r: cx.callFn(fp, [copy, ...args, ...extras]), item };
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
