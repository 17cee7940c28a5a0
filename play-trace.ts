/**
 * Where one play's time goes (a diagnostic; off unless asked for). The gateway and the worker
 * mark a play's task id at each stage of its path; a recorder, when one is installed, keeps
 * the times and turns them into per-stage percentiles. Off, a mark costs one null check. Only
 * stages marked in the same process are comparable, so a breakdown of the whole path needs
 * the gateway and the worker in one process (the launcher); `bench (c0)` does that.
 */

/** The stages, in the order a play passes them. */
export const PLAY_STAGES = [
  /** The session parsed the `play` and gave it a task id (after the frame's actor turn). */
  'accepted',
  /** The ScriptDispatcher's turn for it. */
  'dispatched',
  /** Its submit left for the backend (the dispatcher's flush turn). */
  'submitting',
  /** The worker's take returned it, claimed. */
  'taken',
  /** The script finished (inline or on a thread). */
  'ran',
  /** Its result's write left for the backend (the result writer's turn). */
  'writing',
  /** The dispatcher's backend handed over its reply. */
  'reply-read',
  /** The dispatcher's turn settled it. */
  'replied',
  /** The session's turn answered the frame. */
  'answered',
] as const;
export type PlayStage = (typeof PLAY_STAGES)[number];

type Sink = (taskId: string, stage: PlayStage, at: number) => void;
let sink: Sink | null = null;

/** Marks `taskId` at `stage` now (no-op unless a recorder is installed). */
export function markPlay(taskId: string, stage: PlayStage): void {
  if (sink !== null) sink(taskId, stage, performance.now());
}

/**
 * Marks the task id of every item of a batch at `stage`, at one time. Off, it returns before
 * looking at the batch, so the hot paths that hand over batches pay one check, not a loop.
 * Ids that are not strings (replies read from Redis may hold anything) are skipped.
 */
export function markPlays<T>(items: Iterable<T>, idOf: (item: T) => unknown, stage: PlayStage): void {
  if (sink === null) return;
  const at = performance.now();
  for (const item of items) {
    const taskId = idOf(item);
    if (typeof taskId === 'string') sink(taskId, stage, at);
  }
}

/** One step of the breakdown: the time from one stage to the next, in µs. */
export interface StageStep {
  readonly from: PlayStage;
  readonly to: PlayStage;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
}

export interface PlayBreakdown {
  /** Plays seen from `accepted` to `answered`. */
  readonly plays: number;
  readonly steps: readonly StageStep[];
  /** accepted → answered. */
  readonly total: Omit<StageStep, 'from' | 'to'>;
}

/** Plays whose marks are kept at once; beyond, the oldest unanswered one is forgotten. */
const MAX_OPEN = 100_000;
/** Steps kept per stage pair (a bounded sample: the first ones of a long run). */
const MAX_SAMPLES = 1_000_000;

function percentiles(values: number[]): Omit<StageStep, 'from' | 'to'> {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  const r = (us: number): number => Math.round(us * 10) / 10;
  return { p50Us: r(at(0.5)), p90Us: r(at(0.9)), p99Us: r(at(0.99)), meanUs: r(mean) };
}

/**
 * Installs a recorder (replacing any other) and returns it: `breakdown()` gives the
 * percentiles of each step between consecutive stages a play passed, `stop()` uninstalls it.
 * A stage a play skipped (an embedded backend has no separate reply read) just joins its
 * neighbours' step; a stage marked twice (a conflicted re-run) keeps its last time.
 */
export function recordPlayStages(): { breakdown(): PlayBreakdown; stop(): void } {
  const open = new Map<string, Float64Array>();
  const steps = new Map<string, number[]>();
  const totals: number[] = [];
  const record: Sink = (taskId, stage, at) => {
    let marks = open.get(taskId);
    if (!marks) {
      if (stage !== 'accepted') return; // not a play of this process (or recorded too late)
      if (open.size >= MAX_OPEN) open.delete(open.keys().next().value!);
      marks = new Float64Array(PLAY_STAGES.length).fill(NaN);
      open.set(taskId, marks);
    }
    marks[PLAY_STAGES.indexOf(stage)] = at;
    if (stage !== 'answered') return;
    open.delete(taskId);
    let prev = 0;
    for (let i = 1; i < PLAY_STAGES.length; i++) {
      if (Number.isNaN(marks[i]!)) continue;
      const key = `${PLAY_STAGES[prev]}>${PLAY_STAGES[i]}`;
      let list = steps.get(key);
      if (!list) steps.set(key, (list = []));
      if (list.length < MAX_SAMPLES) list.push((marks[i]! - marks[prev]!) * 1000);
      prev = i;
    }
    if (totals.length < MAX_SAMPLES) totals.push((marks[PLAY_STAGES.length - 1]! - marks[0]!) * 1000);
  };
  sink = record;
  return {
    breakdown(): PlayBreakdown {
      const order = (s: string): number => PLAY_STAGES.indexOf(s.split('>')[0] as PlayStage);
      return {
        plays: totals.length,
        steps: [...steps.entries()]
          .sort(([a], [b]) => order(a) - order(b))
          .map(([key, values]) => {
            const [from, to] = key.split('>') as [PlayStage, PlayStage];
            return { from, to, ...percentiles(values) };
          }),
        total: percentiles(totals),
      };
    },
    stop() {
      if (sink === record) sink = null;
    },
  };
}
