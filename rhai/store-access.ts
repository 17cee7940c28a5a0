/**
 * The host's side of the store bindings (`store_get` / `store_set` / `store_delete` /
 * `store_keys`, builtins/store.ts): the one type a host implements to give scripts a store.
 */

/**
 * Per-circle key-value store supplied by the host; values are plain JSON values. A method
 * may throw {@link StoreError} to fail the script with a runtime error at the call.
 */
export interface StoreAccess {
  get(key: string): unknown | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): boolean;
  /** The keys starting with `prefix` (`''` for all), sorted. */
  keys(prefix: string): string[];
}

/** Thrown by a host store: the script fails with `ErrorRuntime` and this message at the store call. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}
