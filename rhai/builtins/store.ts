/** Host key-value store bindings: store_get / store_set / store_delete / store_keys. */
import { fail } from '../errors';
import { jsonToValue, NotJsonError, valueToJson } from '../json';
import type { Value } from '../values';
import { type Builtin, type CallCx, noMatch } from './registry';

function store(cx: CallCx) {
  return cx.rt?.host.store ?? noMatch();
}

function keyArg(v: Value): string {
  return typeof v === 'string' ? v : noMatch();
}

export const STORE: Record<string, Builtin> = {
  store_get: (a, cx) => {
    if (a.length !== 1) return noMatch();
    const s = store(cx);
    const v = s.get(keyArg(a[0]));
    return v === undefined ? undefined : jsonToValue(v);
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
    s.set(k, j);
    return undefined;
  },
  store_delete: (a, cx) => (a.length === 1 ? store(cx).delete(keyArg(a[0])) : noMatch()),
  store_keys: (a, cx) => (a.length === 0 ? [...store(cx).keys()] : noMatch()),
};
