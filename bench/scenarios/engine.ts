/**
 * (e) The Rhai engine on ../shared/rhai-corpus/bench/*.rhai (bench/engine.ts does the work),
 * against native Rust Rhai's times on the reference machine. Met means at or below the
 * native range's lower bound; the ratio is against that bound too.
 */
import { runEngineBench } from '../engine';
import type { Row } from '../report';
import type { BenchContext } from './context';

export function runEngine(ctx: BenchContext): Row[] {
  const { rows: results, failed } = runEngineBench(ctx.quick ? 3 : 5);
  const rows: Row[] = results.map((r) => ({
    scenario: `(e) engine ${r.file} (eval, median)`,
    ours: r.oursMs,
    baseline: r.native ? r.native[0] : null,
    unit: 'ms',
    ratio: r.native ? r.oursMs / r.native[0] : null,
    target: '≤ native (1.00)',
    met: r.native ? r.oursMs <= r.native[0] : undefined,
    detail: r.native ? { 'native range ms': `${r.native[0]}–${r.native[1]}` } : undefined,
  }));
  if (failed)
    rows.push({
      scenario: '(e) engine: a script failed or gave a wrong result',
      ours: null,
      baseline: null,
      unit: '',
      ratio: null,
      target: 'all pass',
      met: false,
    });
  rows.forEach((r) => ctx.emit(r));
  return rows;
}
