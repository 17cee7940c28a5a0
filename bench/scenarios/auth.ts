/**
 * (b) Full authentications per second over fresh sessions, against baseline (3): the raw
 * single-core recovery rate of the library the server verifies with (measured in a child on
 * the server's core).
 * Signing happens in the generator (≈ 4× cheaper than recovering), so its CPU is reported.
 */
import * as os from 'node:os';
import { signatureLibrary } from '../../auth/signature';
import { GENERATOR_THREADS, runLoad, split, summarise } from '../load-generator';
import type { AuthTask } from '../load-protocol';
import { ANY_CPU, cpuMs, HAS_TASKSET, SERVER_CPU, startNode } from '../procs';
import type { Row } from '../report';
import { ms, startCircles, type BenchContext } from './context';

export async function rawRecoveryRate(ctx: BenchContext): Promise<number> {
  const child = await startNode(
    'recover',
    'bench/baselines/recover.js',
    [String(ctx.quick ? 1000 : 3000)],
    /(\{.*\})/,
    {
      cpus: SERVER_CPU,
      timeoutMs: 30_000,
    },
  );
  await child.stop();
  return (JSON.parse(child.ready) as { perSecond: number }).perSecond;
}

async function logins(ctx: BenchContext, name: string, cpus: string, parallel: number) {
  const server = await startCircles(ctx, name, [], cpus);
  try {
    const tasks: AuthTask[] = split(parallel, GENERATOR_THREADS).map((p) => ({
      mode: 'auth',
      port: server.port,
      path: `/${ctx.circle}`,
      parallel: p,
      warmupMs: ctx.warmupMs,
      durationMs: ctx.durationMs * 2, // logins are slow: a longer window for a steady rate
      maxRequests: 1_000_000,
    }));
    let cpu0 = 0;
    const run = await runLoad(tasks, () => {
      cpu0 = cpuMs(server.pid);
      return Promise.resolve();
    });
    const s = summarise(run.results);
    const serverCpuPct = ((cpuMs(server.pid) - cpu0) / (ctx.warmupMs + ctx.durationMs * 2)) * 100;
    return { ...s, genCpuPct: run.genCpuPct, serverCpuPct };
  } finally {
    await server.stop();
  }
}

export async function runAuth(ctx: BenchContext): Promise<Row[]> {
  const raw = await rawRecoveryRate(ctx);
  const rows: Row[] = [];
  const base: Row = {
    scenario: `(3) baseline: raw secp256k1 recovery, ${signatureLibrary}, 1 core`,
    ours: null,
    baseline: raw,
    unit: '/s',
    ratio: null,
    target: '',
  };
  rows.push(base);
  ctx.emit(base);
  // Pinned: the server owns one core, so its fair ceiling is raw × 1. Unpinned: it may use every
  // core but shares CPU 1 with the generator's signing — the machine-level figure the target names.
  const variants: { label: string; cpus: string; cores: number }[] = [
    { label: 'server pinned to 1 core', cpus: SERVER_CPU, cores: HAS_TASKSET ? 1 : os.cpus().length },
  ];
  if (!ctx.quick && HAS_TASKSET)
    variants.push({
      label: `server on all ${os.cpus().length} cores`,
      cpus: ANY_CPU,
      cores: os.cpus().length,
    });
  for (const v of variants) {
    const m = await logins(ctx, `b-circles-${v.cores}`, v.cpus, 64);
    const ceiling = raw * v.cores;
    const row: Row = {
      scenario: `(b) authentications/s, fresh sessions, ${v.label} vs raw recovery × ${v.cores}`,
      ours: m.rate,
      baseline: ceiling,
      unit: '/s',
      ratio: m.rate / ceiling,
      target: '≥ 0.80',
      met: m.rate / ceiling >= 0.8 && m.errors === 0,
      detail: {
        'p50 ms': Number(ms(m.p50Us).toFixed(1)),
        'p99 ms': Number(ms(m.p99Us).toFixed(1)),
        errors: m.errors,
        'server CPU %': Math.round(m.serverCpuPct),
        'generator CPU %': Math.round(m.genCpuPct),
      },
    };
    process.stderr.write(`  ${row.scenario}: ${Math.round(m.rate)}/s ${m.notes[0] ?? ''}\n`);
    rows.push(row);
    ctx.emit(row);
  }
  return rows;
}
