/**
 * The messages between the script pool (main thread) and a script thread. Everything here
 * crosses `postMessage`, so it must be structured-clone friendly.
 */
import type { StoredCircleStore, StoreWrites } from './backend';

/** One script to run. */
export interface ScriptJob {
  readonly script: string;
  /** Bound as script constants: CONTEXT_ID, CALLER_ID and, for webhooks, event. */
  readonly constants: Readonly<Record<string, unknown>>;
  /** Snapshot of the circle store (key → JSON text); absent when the script was judged not to use it. */
  readonly store?: StoredCircleStore;
  /** The engine's wall-clock budget, ms; the pool terminates the thread at this plus a grace. */
  readonly deadlineMs: number;
}

/** What running one script produced. */
export type ScriptResult =
  | { readonly ok: true; readonly output: string; readonly storeWrites?: StoreWrites }
  | { readonly ok: false; readonly error: string }
  /** The script reached for the store although none was given: run it again with one. */
  | { readonly ok: false; readonly needsStore: true };

/** `workerData` of a script thread. */
export interface ScriptThreadData {
  /** Int32Array[1]: a counter the thread bumps as it starts each job (watchdog progress). */
  readonly progress: SharedArrayBuffer;
}

/** Main → thread. */
export interface RunChunkMessage {
  readonly type: 'run';
  readonly jobs: readonly ScriptJob[];
}

/** Thread → main. */
export type ThreadMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'results';
      readonly results: readonly { readonly index: number; readonly result: ScriptResult }[];
    };
