import type { StoreAccess } from '../../rhai';

/** A fake circle store, in memory, for engine-level specs. */
export function fakeStore(
  init: Record<string, unknown> = {},
): StoreAccess & { readonly data: Map<string, unknown> } {
  const data = new Map(Object.entries(init));
  return {
    data,
    get: (k) => data.get(k),
    set: (k, v) => void data.set(k, v),
    delete: (k) => data.delete(k),
    keys: (prefix) => [...data.keys()].filter((k) => k.startsWith(prefix)).sort(),
  };
}
