/** Most log text kept per task, in UTF-8 bytes (SPEC §2, `play`'s `logs`). */
export const MAX_LOG_BYTES = 64 * 1024;

/** The line that ends a list cut at `capBytes` (documented in openrpc.json). */
export const truncatedMarker = (capBytes: number): string => `… logs truncated at ${capBytes} bytes`;

const encoder = new TextEncoder();

/**
 * Collects what one script run prints, in order, under a byte cap applied as lines arrive:
 * past the cap nothing more is kept (a script printing 10 MB holds 64 KiB here, not 10 MB),
 * and the list ends with one marker line. A line counts its UTF-8 bytes plus one for its
 * line break, so that a flood of empty lines is bounded too; the line that crosses the cap
 * is kept up to it, cut between characters.
 *
 * One collector serves the sequential runs of one runner (`reset` before each): a run that
 * prints nothing allocates nothing.
 */
export class LogCollector {
  private lines: string[] | undefined;
  private left: number;
  private full = false;

  constructor(private readonly capBytes = MAX_LOG_BYTES) {
    this.left = capBytes;
  }

  /** Takes one printed line (bound: hand it to the engine as `onPrint`). */
  readonly add = (line: string): void => {
    if (this.full) return;
    const lines = (this.lines ??= []);
    const bytes = Buffer.byteLength(line, 'utf8') + 1;
    if (bytes <= this.left) {
      lines.push(line);
      this.left -= bytes;
      return;
    }
    if (this.left > 1) {
      const room = new Uint8Array(this.left - 1);
      // encodeInto writes whole characters only, so the cut never splits one
      const { read } = encoder.encodeInto(line, room);
      if (read > 0) lines.push(line.slice(0, read));
    }
    lines.push(truncatedMarker(this.capBytes));
    this.full = true;
  };

  /** The lines of the run so far (`undefined` when none), and a fresh start for the next run. */
  take(): string[] | undefined {
    const lines = this.lines;
    this.reset();
    return lines;
  }

  /** Forgets what was collected. */
  reset(): void {
    this.lines = undefined;
    this.left = this.capBytes;
    this.full = false;
  }
}
