import { Worker } from 'node:worker_threads';
import { silentLogger } from '../../log';
import { DEADLINE_EXCEEDED, ScriptPool } from '../../worker/script-pool';
import type { ScriptJob } from '../../worker/script-job';

/**
 * A stand-in thread speaking the pool protocol, whose "scripts" are commands: `hang` never
 * returns (a builtin gone wrong, beyond the engine's own deadline), `crash` kills the thread.
 */
const FAKE_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const progress = new Int32Array(workerData.progress);
parentPort.on('message', (message) => {
  const results = message.jobs.map((job, index) => {
    Atomics.add(progress, 0, 1);
    if (job.script === 'hang') for (;;) {}
    if (job.script === 'crash') process.exit(7);
    return { index, result: { ok: true, output: 'ran ' + job.script } };
  });
  parentPort.postMessage({ type: 'results', results });
});
parentPort.postMessage({ type: 'ready' });
`;

const job = (script: string, deadlineMs = 100): ScriptJob => ({
  script,
  circlePk: 'c',
  constants: {},
  deadlineMs,
});

describe('ScriptPool', () => {
  let pool: ScriptPool;
  let spawned = 0;

  beforeEach(async () => {
    spawned = 0;
    pool = new ScriptPool({
      size: 2,
      graceMs: 50,
      heapMb: 64,
      logger: silentLogger(),
      spawnThread: (workerData, resourceLimits) => {
        spawned++;
        return new Worker(FAKE_THREAD, { eval: true, workerData, resourceLimits });
      },
    });
    await pool.start();
  });

  afterEach(() => pool.close());

  it('runs jobs across threads and returns each result to its caller', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.run(job(`s${i}`))));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => ({ ok: true, output: `ran s${i}` })));
  });

  it('terminates only the thread that overran a deadline; every other job still completes', async () => {
    const jobs = ['a', 'b', 'hang', 'c', 'd', 'e', 'f'].map((script) => pool.run(job(script)));
    const results = await Promise.all(jobs);

    expect(results[2]).toEqual({ ok: false, error: DEADLINE_EXCEEDED, errorKind: 'ErrorTerminated' });
    for (const i of [0, 1, 3, 4, 5, 6]) expect(results[i]).toMatchObject({ ok: true });
    expect(spawned).toBe(3); // two at start, one replacement
    expect(await pool.run(job('after'))).toEqual({ ok: true, output: 'ran after' });
  });

  it('replaces a crashed thread and fails only its job', async () => {
    const results = await Promise.all(['x', 'crash', 'y'].map((script) => pool.run(job(script, 10_000))));
    expect(results[1]).toEqual({
      ok: false,
      error: 'Script thread exited (code 7)',
      errorKind: 'ErrorSystem',
    });
    expect(results[0]).toMatchObject({ ok: true });
    expect(results[2]).toMatchObject({ ok: true });
  });

  it('cancels queued jobs on close', async () => {
    const hanging = pool.run(job('hang', 60_000));
    const other = pool.run(job('hang', 60_000));
    await new Promise((resolve) => setImmediate(resolve)); // both threads now busy
    const queued = pool.run(job('never'));
    await pool.close();
    expect(await Promise.all([hanging, other, queued])).toEqual([
      { ok: false, cancelled: true },
      { ok: false, cancelled: true },
      { ok: false, cancelled: true },
    ]);
  });
});
