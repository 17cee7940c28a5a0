/** Host key-value store bindings: store_get / store_set / store_delete / store_keys. */
import { fail } from '../errors';
import { jsonToValue, NotJsonError, valueToJson } from '../json';
import { checkDataSize, limitArray } from '../sizes';
import { StoreError } from '../store-access';
import type { Value } from '../values';
import { type Builtin, type CallCx, noMatch } from './registry';

function store(cx: CallCx) {
  return cx.rt?.host.store ?? noMatch();
}

function keyArg(v: Value): string {
  return typeof v === 'string' ? v : noMatch();
}

/** Runs a host store call, turning its refusals into a runtime error at the call's position. */
function hostCall<T>(name: string, cx: CallCx, call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (e instanceof StoreError) throw fail('ErrorRuntime', `${name}: ${e.message}`, cx.pos);
    throw e;
  }
}

export const STORE: Record<string, Builtin> = {
  store_get: (a, cx) => {
    if (a.length !== 1) return noMatch();
    const s = store(cx);
    const k = keyArg(a[0]);
    const v = hostCall('store_get', cx, () => s.get(k));
    if (v === undefined) return undefined;
    // a stored value (e.g. a webhook event) is held to the same limits as any other value
    const value = jsonToValue(v);
    checkDataSize(cx.rt, value, cx.pos);
    return value;
  },
  store_set: (a, cx) => {
    if (a.length !== 2) return noMatch();
    const s = store(cx);
    const k = keyArg(a[0]);
    let j: unknown;
    try {
      j = valueToJson(a[1]);
    } catch (e) {
      if (e instanceof NotJsonError)
        throw fail(
          'ErrorRuntime',
          `store_set: value for key '${k}' is not JSON-serialisable: ${e.message}`,
          cx.pos,
        );
      throw e;
    }
    hostCall('store_set', cx, () => s.set(k, j));
    return undefined;
  },
  store_delete: (a, cx) => {
    if (a.length !== 1) return noMatch();
    const s = store(cx);
    const k = keyArg(a[0]);
    return hostCall('store_delete', cx, () => s.delete(k));
  },
  store_keys: (a, cx) => {
    if (a.length > 1) return noMatch();
    const s = store(cx);
    const prefix = a.length === 1 ? keyArg(a[0]) : '';
    const keys = hostCall('store_keys', cx, () => s.keys(prefix));
    limitArray(cx.rt, keys.length, cx.pos);
    return [...keys];
  },
};
