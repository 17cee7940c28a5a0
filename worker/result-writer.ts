import { markPlays } from '../play-trace';
import type { CompleteResult, TaskOutcome } from '../queue/worker-backend';

/** Writes a group of outcomes; `undefined` when it gave up (worker stopping). */
export type WriteOutcomes = (
  outcomes: readonly TaskOutcome[],
) => Promise<readonly CompleteResult[] | undefined>;

/** Bounds one write so that a single Redis call stays short. */
const MAX_GROUP = 256;

/**
 * Gathers the outcomes that finish in the same event-loop turn (results come back from the
 * threads in groups) and writes them with one backend call, in the order they finished.
 */
export class ResultWriter {
  private pending: { outcome: TaskOutcome; resolve: (written: CompleteResult | undefined) => void }[] = [];
  private scheduled = false;

  constructor(private readonly writeOutcomes: WriteOutcomes) {}

  /** Resolves with how the write went (see CompleteResult), `undefined` if abandoned. */
  write(outcome: TaskOutcome): Promise<CompleteResult | undefined> {
    return new Promise((resolve) => {
      this.pending.push({ outcome, resolve });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    markPlays(all, ({ outcome }) => outcome.task.taskId, 'writing');
    for (let start = 0; start < all.length; start += MAX_GROUP) {
      const group = all.slice(start, start + MAX_GROUP);
      void this.writeOutcomes(group.map((entry) => entry.outcome)).then(
        (written) => group.forEach((entry, i) => entry.resolve(written?.[i])),
        () => group.forEach((entry) => entry.resolve(undefined)),
      );
    }
  }
}
