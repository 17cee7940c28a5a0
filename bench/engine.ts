/**
 * Engine benchmark: runs shared/rhai-corpus/bench/*.rhai, checks each result against its
 * `// expect:` line and prints eval-only timings (median of 5 after warm-up) as markdown.
 * Run: npm run bench:engine. `npm run bench` reuses runEngineBench() for its scenario (e).
 */
import * as fs from 'fs';
import * as path from 'path';
import { displayValue, parse, RHAI_DEFAULT_LIMITS, run } from '../rhai/index';

/** Native Rust Rhai eval times (ms) measured on the reference machine. */
export const NATIVE_MS: Record<string, [number, number]> = {
  'loop.rhai': [150, 200],
  'fib.rhai': [105, 150],
  'strings.rhai': [25, 33],
  'arrays.rhai': [95, 135],
  'maps.rhai': [90, 150],
  'closures.rhai': [120, 175],
  'primes.rhai': [150, 180],
};

const WARMUP = 2;
const RUNS = 5;

function findBenchDir(): string {
  const candidates = [
    path.resolve(process.cwd(), '../shared/rhai-corpus/bench'),
    path.resolve(__dirname, '../../shared/rhai-corpus/bench'),
    path.resolve(__dirname, '../../../shared/rhai-corpus/bench'),
  ];
  const dir = candidates.find((d) => fs.existsSync(d));
  if (!dir) throw new Error(`bench scripts not found (tried ${candidates.join(', ')})`);
  return dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export interface EngineRow {
  file: string;
  /** Median eval time, ms. */
  oursMs: number;
  /** Native Rust Rhai range on the reference machine, ms (undefined when unknown). */
  native?: [number, number];
}

/** Times every corpus bench script (eval only) and checks its `// expect:` line. */
export function runEngineBench(runs = RUNS): { rows: EngineRow[]; failed: boolean } {
  const dir = findBenchDir();
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.rhai'))
    .sort();
  const out: EngineRow[] = [];
  let failed = false;
  for (const file of files) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    const expect = /^\/\/ expect: (.*)$/m.exec(source)?.[1]?.trim();
    const parsed = parse(source, RHAI_DEFAULT_LIMITS);
    if (!parsed.ok) {
      console.error(`${file}: parse error: ${parsed.error.message}`);
      failed = true;
      continue;
    }
    const times: number[] = [];
    for (let i = 0; i < WARMUP + runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = run(parsed.program, {}, RHAI_DEFAULT_LIMITS);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!r.ok) {
        console.error(`${file}: ${r.error.kind}: ${r.error.message}`);
        failed = true;
        break;
      }
      const got = displayValue(r.value);
      if (expect !== undefined && got !== expect) {
        console.error(`${file}: expected ${expect}, got ${got}`);
        failed = true;
        break;
      }
      if (i >= WARMUP) times.push(ms);
    }
    if (times.length === 0) continue;
    out.push({ file, oursMs: median(times), native: NATIVE_MS[file] });
  }
  return { rows: out, failed };
}

function main(): void {
  const { rows: results, failed } = runEngineBench();
  const rows: string[] = [
    '| script | ours (ms) | native Rhai (ms) | ratio ours/native-midpoint |',
    '|---|---:|---:|---:|',
  ];
  for (const { file, oursMs: ours, native } of results) {
    const mid = native ? (native[0] + native[1]) / 2 : NaN;
    rows.push(
      `| ${file} | ${ours.toFixed(1)} | ${native ? `${native[0]}–${native[1]}` : '?'} | ${native ? (ours / mid).toFixed(2) : '?'} |`,
    );
  }
  console.log(rows.join('\n'));
  if (failed) process.exitCode = 1;
}

if (require.main === module) main();
