/**
 * A small HDR-style latency histogram: log-linear buckets (each power of two split into
 * 32 linear sub-buckets, so any recorded value is within ~3 % of its bucket's bound) over
 * microseconds. Fixed size, allocation-free to record, and mergeable across threads by
 * adding count arrays — which is why it is a flat Float64Array rather than objects.
 */
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const MAGNITUDES = 34; // up to 2^34 µs ≈ 4.7 hours: far beyond any bounded load loop
export const HISTOGRAM_SIZE = (MAGNITUDES + 1) * SUB;

export class Histogram {
  readonly counts: Float64Array;
  total = 0;
  max = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(HISTOGRAM_SIZE);
    if (counts) {
      for (let i = 0; i < HISTOGRAM_SIZE; i++) this.counts[i] = counts[i] ?? 0;
      for (let i = 0; i < HISTOGRAM_SIZE; i++) this.total += this.counts[i]!;
      for (let i = HISTOGRAM_SIZE - 1; i >= 0; i--) {
        if (this.counts[i]! > 0) {
          this.max = upperBound(i);
          break;
        }
      }
    }
  }

  /** Records one value in microseconds (fractions and negatives clamp to 0). */
  record(us: number): void {
    const v = us > 0 ? Math.floor(us) : 0;
    this.counts[indexOf(v)]!++;
    this.total++;
    if (v > this.max) this.max = v;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_SIZE; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value (µs) at or below which `p` percent of recordings fall (bucket upper bound). */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return Math.min(upperBound(i), this.max);
    }
    return this.max;
  }
}

/** Bucket of v: values below SUB map 1:1; above, magnitude (power of two) × SUB + sub-bucket. */
function indexOf(v: number): number {
  if (v < SUB) return v;
  const mag = Math.min(MAGNITUDES, Math.floor(Math.log2(v)) - SUB_BITS + 1);
  const sub = Math.floor(v / 2 ** (mag - 1)) - SUB; // 0..SUB-1 within this magnitude (top half)
  return mag * SUB + Math.min(SUB - 1, Math.max(0, sub));
}

function upperBound(i: number): number {
  if (i < SUB) return i;
  const mag = Math.floor(i / SUB);
  const sub = i % SUB;
  return (SUB + sub + 1) * 2 ** (mag - 1) - 1;
}
