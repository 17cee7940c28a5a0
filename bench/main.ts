/**
 * `npm run bench [-- --quick] [-- --only e,a,b,c,c0,c2,c3,h,d,f,g,i] [-- --profile <dir>]`
 *
 * Measures the gateway, the dispatch path and the engine against baselines started in the
 * same run (figures drift 10–40 % over tens of minutes on this kind of machine, so only
 * same-run ratios mean anything). Prints one JSON line per row as it lands, then the
 * markdown table, which also goes to bench/results/<date>.md.
 */
import { spawnSync } from 'node:child_process';
import { secp256k1 } from '@noble/curves/secp256k1';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { publicKeyOf } from '../auth/personal-sign';
import { GENERATOR_THREADS } from './load-generator';
import { GENERATOR_CPU, HAS_TASKSET, LOG_DIR, SERVER_CPU, startRedis } from './procs';
import { jsonLine, markdownTable, type Row } from './report';
import { runAuth } from './scenarios/auth';
import type { BenchContext } from './scenarios/context';
import { runEngine } from './scenarios/engine';
import { runFaults } from './scenarios/faults';
import { runGateway } from './scenarios/gateway';
import { runIdle } from './scenarios/idle';
import { runLauncherEmbedded, runLauncherRedis, runManyCircles, runPlayStages } from './scenarios/launcher';
import { runPlay } from './scenarios/play';
import { runStorm } from './scenarios/storm';
import { runStore } from './scenarios/store';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Re-runs this process pinned to the generator core, so the server core stays the server's. */
function pinSelf(): boolean {
  if (!HAS_TASKSET || process.env.CIRCLES_BENCH_PINNED) return false;
  const r = spawnSync(
    'taskset',
    ['-c', GENERATOR_CPU, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, CIRCLES_BENCH_PINNED: '1' },
    },
  );
  process.exitCode = r.status ?? 1;
  return true;
}

async function main(): Promise<void> {
  if (pinSelf()) return;
  const quick = process.argv.includes('--quick');
  const only = new Set((flag('--only') ?? 'e,a,b,c,c0,c2,c3,h,d,f,g,i').split(','));
  const profileDir = flag('--profile');
  const started = Date.now();
  const sk = Buffer.from(secp256k1.utils.randomPrivateKey()).toString('hex');
  const rows: Row[] = [];
  const redis = await startRedis();
  const ctx: BenchContext = {
    quick,
    redisUrl: redis.url,
    redisPid: redis.child.pid,
    circle: publicKeyOf(sk),
    profileDir: profileDir ? path.resolve(profileDir) : undefined,
    warmupMs: quick ? 250 : 500,
    durationMs: quick ? 800 : 2000,
    emit: (row) => {
      rows.push(row);
      process.stdout.write(`${jsonLine(row)}\n`);
    },
  };
  const say = (s: string): boolean => process.stderr.write(`${s}\n`);
  const load0 = os.loadavg()[0]!;
  say(
    `circles bench (${quick ? 'quick' : 'full'}): ${os.cpus().length} CPUs, load average ${load0.toFixed(2)}, ` +
      (HAS_TASKSET
        ? `server pinned to CPU ${SERVER_CPU}, generator (${GENERATOR_THREADS} threads) to CPU ${GENERATOR_CPU}`
        : 'no taskset: unpinned') +
      `; logs in ${LOG_DIR}`,
  );
  try {
    const phase = async (id: string, title: string, run: () => unknown): Promise<void> => {
      if (!only.has(id)) return;
      const t0 = Date.now();
      say(title);
      await run();
      say(`  … ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    await phase('e', '(e) engine', () => runEngine(ctx));
    await phase('a', '(a) gateway + baselines (1)', () => runGateway(ctx));
    await phase('b', '(b) authentication + baseline (3)', () => runAuth(ctx));
    await phase('c', '(c) play + baseline (2)', () => runPlay(ctx));
    await phase('c0', "(c0) one play's stages (launcher + Redis, --trace-plays)", () => runPlayStages(ctx));
    await phase('c2', '(c2) launcher + Redis on one core + raw Redis loop', () => runLauncherRedis(ctx));
    await phase('c3', '(c3) launcher, embedded default + uWS JSON-RPC echo', () => runLauncherEmbedded(ctx));
    await phase('h', '(h) launcher with 2, 20, 200 circles', () => runManyCircles(ctx));
    await phase('d', '(d) idle sessions', () => runIdle(ctx));
    await phase('f', '(f) authentication storm', () => runStorm(ctx));
    await phase('g', '(g) circle store', () => runStore(ctx));
    await phase('i', '(i) faults: Redis restarts, worker kill -9', () => runFaults(ctx));
  } finally {
    await redis.child.stop();
  }
  const wall = (Date.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const table = markdownTable(rows);
  const doc =
    `# Circles benchmark, ${date} (${quick ? 'quick' : 'full'} run, ${wall.toFixed(0)} s)\n\n` +
    `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}; 1-minute load average ` +
    `${load0.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (other work on the machine skews figures). ` +
    (HAS_TASKSET
      ? `Servers pinned to CPU ${SERVER_CPU}, load generator to CPU ${GENERATOR_CPU}; Redis and script workers unpinned, but for (c2) and (c3), where the whole launcher is on CPU ${SERVER_CPU}. `
      : 'Unpinned (no taskset). ') +
    `Baselines ran in this same run; ratio = ours / baseline. Reproduce: \`npm run bench\`.\n\n${table}\n`;
  process.stdout.write(`\n${table}\n\nwall time ${wall.toFixed(1)} s\n`);
  const dir = path.resolve(__dirname, '../../bench/results');
  fs.mkdirSync(dir, { recursive: true });
  // Only a full run of every scenario is `<date>.md`: a partial or quick run must not replace it.
  const partial = flag('--only') ? `-only-${[...only].join('-')}` : '';
  fs.writeFileSync(path.join(dir, `${date}${quick ? '-quick' : ''}${partial}.md`), doc);
  if (rows.some((r) => r.met === false)) process.stderr.write('some targets were missed (see "met?")\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
