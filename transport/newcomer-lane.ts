/**
 * Established sessions first. Work for newcomers — WebSocket upgrades, and the frames of
 * sessions still in their handshake (SocketPort.established) — waits in one FIFO lane that
 * runs in the event loop's check phase with a time budget per turn. Under a login storm each
 * turn therefore serves every established session's ready frames (poll phase) before it
 * spends at most `turnBudgetMs` (and `maxJobsPerTurn` jobs) on newcomers; on a quiet server the lane costs one extra
 * turn. Upgrades are admitted a bounded number at a time: at most `maxWaitingUpgrades` wait,
 * none longer than `maxWaitMs`; the rest are refused (503) by the caller's `refuse`.
 */
/** What a refused upgrade is told (503), and when to come back. */
export const BUSY = 'too many connections being opened; retry shortly';
export const RETRY_AFTER = { 'retry-after': '1' } as const;

export interface NewcomerLaneOptions {
  /** Upgrades waiting at once; one more is refused at arrival. */
  readonly maxWaitingUpgrades: number;
  /** An upgrade that waited this long is refused instead of served. */
  readonly maxWaitMs: number;
  /** Newcomer work per event-loop turn while there is more waiting, in ms. */
  readonly turnBudgetMs: number;
  /**
   * Jobs per turn at most. A frame batch's job only hands it to its session actor, whose
   * work (parsing, nonces, a signature check posted) follows in nact's own turn: the time
   * budget cannot see it, the count bounds it.
   */
  readonly maxJobsPerTurn: number;
  /** A job threw (a bug in its caller): reported, and the lane goes on. */
  readonly onError: (err: unknown) => void;
}

interface Job {
  readonly run: () => void;
  /** Upgrades only: refuses the request when it waited too long or the lane closed. */
  readonly refuse?: () => void;
  readonly at: number;
}

/** Compact the queue's array once this many served jobs sit before its head. */
const COMPACT_AT = 1024;

export class NewcomerLane {
  private jobs: Job[] = [];
  private head = 0;
  private upgrades = 0;
  private scheduled = false;
  private closed = false;
  /** Jobs granted to run at once (`runNow`) in the current event-loop turn. */
  private grantedThisTurn = 0;

  constructor(private readonly opts: NewcomerLaneOptions) {}

  /** Upgrades admitted and not yet served. */
  get waitingUpgrades(): number {
    return this.upgrades;
  }

  /** Jobs waiting (upgrades and newcomers' frame batches). */
  get waiting(): number {
    return this.jobs.length - this.head;
  }

  /**
   * Whether a newcomer's work may run at once, in the caller's turn: when nothing waits and
   * this turn has not yet granted `maxJobsPerTurn`. On a quiet server newcomers then pay no
   * extra turn; in a storm the per-turn bound holds and the rest queue (FIFO is kept: nothing
   * runs ahead of waiting work).
   */
  runNow(): boolean {
    if (this.closed || this.head < this.jobs.length || this.grantedThisTurn >= this.opts.maxJobsPerTurn)
      return false;
    if (this.grantedThisTurn++ === 0) setImmediate(() => (this.grantedThisTurn = 0));
    return true;
  }

  /**
   * An upgrade through the lane: run at once in the caller's turn when `runNow` allows
   * (`run(false)`), else queued (`run(true)` later: the transport then checks the peer is
   * still there and the server still accepting). `busy` answers 503 when the lane is full
   * or closed, or the upgrade waited past `maxWaitMs`.
   */
  upgrade(run: (deferred: boolean) => void, busy: () => void): void {
    if (this.runNow()) return run(false);
    if (!this.admitUpgrade(() => run(true), busy)) busy();
  }

  /**
   * Queues an upgrade: `run` performs it, `refuse` answers 503 when it waited too long or the
   * lane closed. False when the lane is full or closed: the caller refuses at once.
   */
  admitUpgrade(run: () => void, refuse: () => void): boolean {
    if (this.closed || this.upgrades >= this.opts.maxWaitingUpgrades) return false;
    this.upgrades++;
    this.push({ run, refuse, at: performance.now() });
    return true;
  }

  /** A newcomer's work that never expires: at once when `runNow` allows, else queued in order. */
  work(run: () => void): void {
    if (this.runNow()) run();
    else this.defer(run);
  }

  /** Queues a newcomer's work (its frames); it runs in order, never expires. */
  defer(run: () => void): void {
    this.push({ run, at: performance.now() });
  }

  /** Refuses every waiting upgrade and admits no more (shutdown); frames still run. */
  close(): void {
    this.closed = true;
    for (let i = this.head; i < this.jobs.length; i++) {
      const job = this.jobs[i]!;
      if (!job.refuse) continue;
      this.jobs[i] = { run: () => undefined, at: job.at };
      this.upgrades--;
      job.refuse();
    }
  }

  private push(job: Job): void {
    this.jobs.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const start = performance.now();
    let now = start;
    let ran = 0;
    while (this.head < this.jobs.length) {
      const job = this.jobs[this.head]!;
      this.jobs[this.head++] = undefined as unknown as Job; // let it be collected
      const expired = job.refuse !== undefined && now - job.at > this.opts.maxWaitMs;
      if (job.refuse) this.upgrades--;
      try {
        if (expired) job.refuse!();
        else job.run();
      } catch (err) {
        this.opts.onError(err);
      }
      now = performance.now();
      if (++ran >= this.opts.maxJobsPerTurn || now - start >= this.opts.turnBudgetMs) break;
    }
    if (this.head >= COMPACT_AT || this.head === this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    if (this.head < this.jobs.length && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
}
