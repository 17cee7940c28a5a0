import {
  parse,
  run,
  SANDBOX_LIMITS,
  type EngineLimits,
  type Program,
  type RhaiError,
  type StoreAccess,
} from '../rhai';
import type { StoreEffects } from '../queue/worker-backend';
import { ChannelStore } from './channel-store';
import { LogCollector } from './log-collector';
import type { ScriptFailure, ScriptJob, ScriptResult } from './script-job';
import type { StoreChannelClient } from './store-channel';

/** A run's view of the store: the engine's access plus what the run did with it. */
export interface RunStore extends StoreAccess {
  /** Set when the store could not serve the run: nothing the run did counts. */
  readonly unavailable: string | undefined;
  effects(): StoreEffects | undefined;
}

/** Makes the store of one run (deadline: epoch ms; maxKeys: the engine's array limit). */
export type RunStoreFactory = (job: ScriptJob, deadline: number, maxKeys: number) => RunStore;

/** The script thread's store: on-demand reads through the channel to the worker. */
export const channelStores =
  (channel: StoreChannelClient): RunStoreFactory =>
  (job, deadline, maxKeys) =>
    new ChannelStore(channel, deadline, maxKeys, job.prefetched);

/** Compiled programs kept per thread: dispatchers tend to send the same scripts again. */
const PROGRAM_CACHE_SIZE = 256;
/** Longer sources are rare and cheap to parse relative to running them; not worth the memory. */
const CACHEABLE_SOURCE_CHARS = 16 * 1024;

function errorText(error: RhaiError): string {
  // The engine's message already ends with "(line L, position P)" where it has one.
  return error.line !== undefined && !error.message.includes('(line ')
    ? `${error.message} (line ${error.line}, position ${error.position ?? 0})`
    : error.message;
}

/** An engine error as a script failure: message, kind, 1-based position where it has one, logs. */
function failure(error: RhaiError, logs: readonly string[] | undefined): ScriptFailure {
  const line = error.line !== undefined && error.line > 0 ? error.line : undefined;
  const position = line !== undefined && error.position !== undefined && error.position > 0;
  return {
    ok: false,
    error: errorText(error),
    errorKind: error.kind,
    ...(line !== undefined ? { errorLine: line } : {}),
    ...(position ? { errorPosition: error.position } : {}),
    ...(logs ? { logs } : {}),
  };
}

/** Runs scripts with the engine, caching compiled programs (one instance per thread). */
export class ScriptRunner {
  private readonly programs = new Map<string, Program>();
  /** What the current run prints (runs of one runner are sequential). */
  private readonly logs = new LogCollector();

  constructor(
    private readonly storeFor: RunStoreFactory,
    /** Tighter limits than the sandbox's (the inline runner's), if any. */
    private readonly override: Partial<EngineLimits> = {},
  ) {}

  run(job: ScriptJob): ScriptResult {
    const startedAt = Date.now();
    const limits = { ...SANDBOX_LIMITS, deadlineMs: job.deadlineMs, ...this.override };
    const program = this.compile(job.script, limits);
    if (!program.ok) return failure(program.error, undefined);

    const store = this.storeFor(job, startedAt + limits.deadlineMs, limits.maxArraySize);
    this.logs.reset();
    const bindings = { constants: { ...job.constants }, store, onPrint: this.logs.add };
    const result = run(program.program, bindings, limits);
    const logs = this.logs.take();
    // Whatever the script made of a failed store call (it may have caught it), the run is void.
    if (store.unavailable !== undefined) return { ok: false, retry: store.unavailable };
    const effects = store.effects();
    const stored = effects ? { store: effects } : {};
    return result.ok
      ? { ok: true, output: result.output, ...(logs ? { logs } : {}), ...stored }
      : { ...failure(result.error, logs), ...stored };
  }

  private compile(source: string, limits: typeof SANDBOX_LIMITS): ReturnType<typeof parse> {
    const cached = this.programs.get(source);
    if (cached) {
      // Map order doubles as recency order.
      this.programs.delete(source);
      this.programs.set(source, cached);
      return { ok: true, program: cached };
    }
    const parsed = parse(source, limits);
    if (parsed.ok && source.length <= CACHEABLE_SOURCE_CHARS) {
      this.programs.set(source, parsed.program);
      if (this.programs.size > PROGRAM_CACHE_SIZE) {
        this.programs.delete(this.programs.keys().next().value as string);
      }
    }
    return parsed;
  }
}
