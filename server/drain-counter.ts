/**
 * Counts plays in flight across a server so a stop can drain them: each session counts its
 * plays in and out, and `stop()` waits for zero (or its drain timeout).
 */
export class DrainCounter {
  private count = 0;
  private waiters: (() => void)[] = [];

  started(): void {
    this.count++;
  }

  finished(): void {
    if (this.count > 0) this.count--;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  get size(): number {
    return this.count;
  }

  /** Resolves true when nothing is in flight, false if `timeoutMs` passes first. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }
}
