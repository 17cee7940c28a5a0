import { StoreError } from '../rhai';
import { ScriptRunner, type RunStore } from './run-script';
import type { ScriptJob, ScriptResult } from './script-job';

/**
 * Budget of a script run on the worker's event loop: small enough that the loop's Redis I/O
 * never waits on it noticeably, large enough for the short scripts most plays are. The
 * clock is read at every operation: one operation on a large string can take milliseconds,
 * so counting operations alone would not bound the time.
 */
export const INLINE_LIMITS = Object.freeze({ maxOperations: 5_000, deadlineMs: 1, deadlineCheckOps: 1 });
/** Longer sources are rarely short runs, and their first parse would be the loop's cost. */
const INLINE_MAX_SOURCE_CHARS = 4 * 1024;
/** Sources that outgrew the budget once, remembered so they go straight to a thread. */
const MAX_REMEMBERED = 1024;
/** Errors that mean "not within the inline budget", not "the script failed". */
const OVER_BUDGET = new Set(['ErrorTooManyOperations', 'ErrorTerminated', 'ErrorStackOverflow']);

/** Refuses every store call, noting the attempt: such a script runs on a thread instead. */
class NoStore implements RunStore {
  touched = false;
  readonly unavailable = undefined;
  private refuse(): never {
    this.touched = true;
    throw new StoreError('not available inline');
  }
  get(): never {
    return this.refuse();
  }
  set(): never {
    return this.refuse();
  }
  delete(): never {
    return this.refuse();
  }
  keys(): never {
    return this.refuse();
  }
  effects(): undefined {
    return undefined;
  }
}

/**
 * Runs short scripts that do not use the store on the worker's own thread, under the
 * engine's operation budget and a 1 ms deadline: a trivial play then costs no thread hop
 * (two `postMessage`s and two wake-ups). A script that reaches for the store, or outgrows
 * the budget, yields `undefined` and runs on the pool as usual; scripts are free of side
 * effects until their result is written, so the abandoned attempt leaves no trace.
 */
export class InlineRunner {
  /** One store for every run (runs are sequential); `touched` is reset before each. */
  private readonly store = new NoStore();
  private readonly runner = new ScriptRunner(() => this.store, INLINE_LIMITS);
  private readonly tooLong = new Set<string>();

  tryRun(job: ScriptJob): ScriptResult | undefined {
    if (job.script.length > INLINE_MAX_SOURCE_CHARS || this.tooLong.has(job.script)) return undefined;
    this.store.touched = false;
    const result = this.runner.run(job);
    if (this.store.touched || ('errorKind' in result && OVER_BUDGET.has(result.errorKind ?? ''))) {
      // (what the abandoned attempt printed goes with it: the thread's run prints again)
      if (this.tooLong.size >= MAX_REMEMBERED) this.tooLong.clear();
      this.tooLong.add(job.script);
      return undefined;
    }
    return result;
  }
}
