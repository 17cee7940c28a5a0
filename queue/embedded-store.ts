import type { Transaction } from 'lmdb';
import type { EmbeddedEnv, StoreMeta, StoreValue } from './embedded-env';
import { entryBytes, type KeyListing, type StoreEffects, type StoreEntry } from './worker-backend';

/**
 * Circle stores in the embedded database. A key's version is the circle `seq` of the write
 * that set it: the per-circle seq only grows, so a present key never gets an old version
 * back, and an absent key (never set, or deleted) reads as version '0'. The key-set version
 * is the seq of the last write that created or deleted a key.
 */

const ABSENT_VERSION = '0';
const EMPTY_META: StoreMeta = Object.freeze({ seq: 0, kseq: 0, bytes: 0 });

function versionOf(value: StoreValue | undefined): string {
  return value === undefined ? ABSENT_VERSION : String(value.ver);
}

function keySetVersionOf(meta: StoreMeta | undefined): string {
  return String(meta?.kseq ?? 0);
}

/** Committed values and versions of `keys`, from one snapshot. */
export function readEntries(env: EmbeddedEnv, circlePk: string, keys: readonly string[]): StoreEntry[] {
  return withSnapshot(env, (transaction) =>
    keys.map((key) => {
      const value = env.tables.store.get([circlePk, key], { transaction });
      return { value: value?.v ?? null, version: versionOf(value) };
    }),
  );
}

/**
 * The first `limit + 1` keys starting with `prefix`, and the key-set version, from one
 * snapshot. A range read from `[circlePk, prefix]` that stops at the first key without the
 * prefix: all keys sharing a prefix are adjacent in byte order, so the cost follows the keys
 * returned, not the size of the store.
 */
export function listKeys(env: EmbeddedEnv, circlePk: string, prefix: string, limit: number): KeyListing {
  return withSnapshot(env, (transaction) => {
    const keys: string[] = [];
    for (const [pk, key] of env.tables.store.getKeys({ start: [circlePk, prefix], transaction })) {
      if (pk !== circlePk || !key.startsWith(prefix)) break;
      if (keys.push(key) > limit) break;
    }
    return { keys, version: keySetVersionOf(env.tables.storeMeta.get(circlePk, { transaction })) };
  });
}

/** Every key of a circle with its JSON text (inspection). */
export function readAll(env: EmbeddedEnv, circlePk: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of env.tables.store.getRange({ start: [circlePk, ''] })) {
    if (key[0] !== circlePk) break;
    out[key[1]] = value.v;
  }
  return out;
}

/**
 * Inside a write transaction (so it sees the latest state, earlier writes of the same batch
 * included): whether every version the script read is still current.
 */
export function readsAreCurrent(env: EmbeddedEnv, circlePk: string, effects: StoreEffects): boolean {
  const { store, storeMeta } = env.tables;
  for (const [key, version] of effects.reads) {
    if (versionOf(store.get([circlePk, key])) !== version) return false;
  }
  return effects.listed === undefined || keySetVersionOf(storeMeta.get(circlePk)) === effects.listed;
}

/**
 * Inside a write transaction: applies the sets and deletes under one new seq, or nothing
 * when they would take the circle over `quotaBytes` ('quota'). Only growth is refused, so a
 * circle over its quota (the quota was lowered) can still shrink.
 */
export function applyWrites(
  env: EmbeddedEnv,
  circlePk: string,
  effects: StoreEffects,
  quotaBytes: number,
): 'applied' | 'quota' {
  const { store, storeMeta } = env.tables;
  const before = new Map<string, string | null>();
  const after = new Map<string, string | null>();
  const current = (key: string): string | null => {
    const written = after.get(key);
    if (written !== undefined) return written;
    let stored = before.get(key);
    if (stored === undefined) before.set(key, (stored = store.get([circlePk, key])?.v ?? null));
    return stored;
  };
  let delta = 0;
  for (const [key, value] of effects.sets) {
    const old = current(key);
    delta += entryBytes(key, value) - (old === null ? 0 : entryBytes(key, old));
    after.set(key, value);
  }
  for (const key of effects.deletes) {
    const old = current(key);
    if (old !== null) delta -= entryBytes(key, old);
    after.set(key, null);
  }
  const meta = storeMeta.get(circlePk) ?? EMPTY_META;
  if (delta > 0 && meta.bytes + delta > quotaBytes) return 'quota';

  const seq = meta.seq + 1;
  let wrote = false;
  let keySetChanged = false;
  for (const [key, value] of after) {
    const existed = before.get(key) !== null;
    if (value !== null) {
      void store.put([circlePk, key], { v: value, ver: seq });
      wrote = true;
      keySetChanged ||= !existed;
    } else if (existed) {
      void store.remove([circlePk, key]);
      wrote = true;
      keySetChanged = true;
    }
  }
  if (wrote) {
    void storeMeta.put(circlePk, { seq, kseq: keySetChanged ? seq : meta.kseq, bytes: meta.bytes + delta });
  }
  return 'applied';
}

/** Runs synchronous reads on one explicit read snapshot. */
function withSnapshot<T>(env: EmbeddedEnv, read: (transaction: Transaction) => T): T {
  const transaction = env.root.useReadTransaction();
  try {
    return read(transaction);
  } finally {
    transaction.done();
  }
}
