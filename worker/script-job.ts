/**
 * The messages between the script pool (main thread) and a script thread. Everything here
 * crosses `postMessage`, so it must be structured-clone friendly.
 */
import type { ResultDetail } from '../queue/task';
import type { StoreEffects, StoreEntry } from '../queue/worker-backend';
import type { StoreChannelMessage } from './store-channel';

/** One script to run. */
export interface ScriptJob {
  readonly script: string;
  /** The circle whose store the script reaches (through the thread's store channel). */
  readonly circlePk: string;
  /** Bound as script constants: CONTEXT_ID, CALLER_ID and, for webhooks, event. */
  readonly constants: Readonly<Record<string, unknown>>;
  /** The engine's wall-clock budget, ms; the pool terminates the thread at this plus a grace. */
  readonly deadlineMs: number;
  /** Store keys read ahead by the worker, as `[key, entry]` (used only if the script reads them). */
  readonly prefetched?: readonly (readonly [string, StoreEntry])[];
}

/** A script's failure: the engine's message, with its kind, position and the run's logs where known. */
export interface ScriptFailure extends Readonly<ResultDetail> {
  readonly ok: false;
  readonly error: string;
  readonly store?: StoreEffects;
}

/**
 * What running one script produced; `store` when it touched the circle store, `logs` when
 * it printed (capped: see LogCollector).
 */
export type ScriptResult =
  | {
      readonly ok: true;
      readonly output: string;
      readonly logs?: readonly string[];
      readonly store?: StoreEffects;
    }
  | ScriptFailure
  /** The circle store could not be reached: nothing the run did counts; run it again later. */
  | { readonly ok: false; readonly retry: string };

/** `workerData` of a script thread. */
export interface ScriptThreadData {
  /** Int32Array[1]: a counter the thread bumps as it starts each job (watchdog progress). */
  readonly progress: SharedArrayBuffer;
  /** The thread's end of its store channel (see store-channel.ts). */
  readonly storeChannel: SharedArrayBuffer;
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
    }
  | StoreChannelMessage;
