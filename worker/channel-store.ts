import { StoreError, type StoreAccess } from '../rhai';
import { STORE_LIMITS, type StoreEffects, type StoreEntry } from '../queue/worker-backend';
import { StoreUnavailableError, type StoreChannelClient, type StoreResponse } from './store-channel';

const DELETED = Symbol('deleted');

/** A key as this run sees it: its parsed value (`undefined` when absent). */
interface Seen {
  readonly value: unknown;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Byte order of UTF-8, the order both backends list keys in. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Whether a plain JSON value nests deeper than `max` arrays/objects. */
function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Values written by anything but a script may not be JSON; such text reads as a string. */
function parseStored(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One script run's view of its circle's store (SPEC §4): keys are read on demand through
 * the channel, once each (later reads and the script's own writes are served here), with
 * the version each had; writes stay here until the result commits. What it read and wrote
 * becomes the run's `StoreEffects`, which the backend validates and applies atomically.
 */
export class ChannelStore implements StoreAccess {
  private readonly seen = new Map<string, Seen>();
  private readonly reads: [string, string][] = [];
  private readonly writes = new Map<string, string | typeof DELETED>();
  private listed: string | undefined;
  /** Set when the backend could not answer: the run must be retried, whatever the script did. */
  unavailable: string | undefined;

  private readonly prefetched: Map<string, StoreEntry>;

  constructor(
    private readonly channel: StoreChannelClient,
    private readonly deadline: number,
    private readonly maxKeys: number,
    prefetched: readonly (readonly [string, StoreEntry])[] = [],
  ) {
    this.prefetched = new Map(prefetched);
  }

  get(key: string): unknown {
    checkKey(key);
    const seen = this.seen.get(key);
    if (seen) return seen.value;
    const entry = this.prefetched.get(key) ?? this.readThroughChannel(key);
    this.reads.push([key, entry.version]);
    const value = entry.value === null ? undefined : parseStored(entry.value);
    this.seen.set(key, { value });
    return value;
  }

  private readThroughChannel(key: string): StoreEntry {
    const response = this.ask({ op: 'read', keys: [key] });
    const entry = 'entries' in response ? response.entries[0] : undefined;
    if (!entry) throw this.broken('unexpected answer to a read');
    return entry;
  }

  set(key: string, value: unknown): void {
    checkKey(key);
    if (deeperThan(value, STORE_LIMITS.maxValueDepth)) {
      throw new StoreError(
        `value for key '${short(key)}' nests deeper than ${STORE_LIMITS.maxValueDepth} levels`,
      );
    }
    const text = JSON.stringify(value);
    if (utf8Bytes(text) > STORE_LIMITS.maxValueBytes) {
      throw new StoreError(
        `value for key '${short(key)}' is ${utf8Bytes(text)} bytes of JSON, over the limit of ${STORE_LIMITS.maxValueBytes}`,
      );
    }
    this.writes.set(key, text);
    this.seen.set(key, { value });
  }

  delete(key: string): boolean {
    const existed = this.get(key) !== undefined;
    this.writes.set(key, DELETED);
    this.seen.set(key, { value: undefined });
    return existed;
  }

  keys(prefix: string): string[] {
    const response = this.ask({ op: 'list', prefix, limit: this.maxKeys });
    if (!('listing' in response)) throw this.broken('unexpected answer to a listing');
    const { keys, version } = response.listing;
    this.listed = version;
    // The script's own writes count: it sees its keys as it left them.
    const merged = new Set(keys);
    for (const [key, text] of this.writes) {
      if (!key.startsWith(prefix)) continue;
      if (text === DELETED) merged.delete(key);
      else merged.add(key);
    }
    if (merged.size > this.maxKeys) {
      throw new StoreError(
        `more than ${this.maxKeys} keys start with '${short(prefix)}'; list a narrower prefix`,
      );
    }
    return [...merged].sort(compareUtf8);
  }

  /** What the run read and wrote; `undefined` when it never touched the store. */
  effects(): StoreEffects | undefined {
    if (this.reads.length === 0 && this.writes.size === 0 && this.listed === undefined) return undefined;
    const sets: [string, string][] = [];
    const deletes: string[] = [];
    for (const [key, text] of this.writes) {
      if (text === DELETED) deletes.push(key);
      else sets.push([key, text]);
    }
    return { reads: this.reads, sets, deletes, ...(this.listed !== undefined && { listed: this.listed }) };
  }

  private ask(request: Parameters<StoreChannelClient['request']>[0]): StoreResponse {
    let response: StoreResponse;
    try {
      response = this.channel.request(request, this.deadline);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw this.broken(err.message);
      throw err;
    }
    if (!response.ok) throw this.broken(response.error);
    return response;
  }

  private broken(reason: string): StoreError {
    this.unavailable ??= reason;
    return new StoreError(`circle store unavailable: ${reason}`);
  }
}

function checkKey(key: string): void {
  const bytes = utf8Bytes(key);
  if (bytes > STORE_LIMITS.maxKeyBytes) {
    throw new StoreError(
      `key '${short(key)}' is ${bytes} bytes, over the limit of ${STORE_LIMITS.maxKeyBytes}`,
    );
  }
}

/** A key shortened for an error message. */
function short(key: string): string {
  return key.length > 40 ? `${key.slice(0, 40)}…` : key;
}
