import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { silentLogger } from '../../log';
import { BackendUnavailableError, type DispatchBackend, type NewTask } from '../../queue/dispatch-backend';
import { EmbeddedTaskBackend, type EmbeddedBackendOptions } from '../../queue/embedded-backend';
import type { TaskReply } from '../../queue/task';
import type { ClaimedTask, StoreEffects, TaskOutcome, WorkerBackend } from '../../queue/worker-backend';
import { buildOnce } from '../support/cli';
import { until } from '../support/until';

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const B = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const NOW_ISO = '2030-01-01T00:00:00.000Z';

const dirs: string[] = [];
const backends: EmbeddedTaskBackend[] = [];

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-embedded-spec-'));
  dirs.push(dir);
  return dir;
}

async function openAt(
  dataDir: string,
  extra: Partial<EmbeddedBackendOptions> = {},
): Promise<EmbeddedTaskBackend> {
  const backend = await EmbeddedTaskBackend.open({ dataDir, logger: silentLogger(), ...extra });
  backends.push(backend);
  return backend;
}

async function temporary(extra: Partial<EmbeddedBackendOptions> = {}): Promise<EmbeddedTaskBackend> {
  const backend = await EmbeddedTaskBackend.temporary(extra);
  backends.push(backend);
  return backend;
}

function task(taskId: string, contextId = A, input?: string): NewTask {
  return { taskId, script: `"${taskId}"`, callerId: 'caller', contextId, ...(input ? { input } : {}) };
}

function workerOf(backend: EmbeddedTaskBackend, circles = [A], workerId = 'w1'): WorkerBackend {
  return backend.worker({ workerId, circles, taskTtlS: 60 });
}

function store(effects: Partial<StoreEffects>): StoreEffects {
  return { reads: [], sets: [], deletes: [], ...effects };
}

function done(claimed: ClaimedTask, text: string, extra: Partial<TaskOutcome> = {}): TaskOutcome {
  return { task: claimed.task, status: 'completed', text, ...extra };
}

/** Takes exactly `n` tasks (fails the spec rather than hanging). */
async function takeN(worker: WorkerBackend, n: number): Promise<ClaimedTask[]> {
  const taken = await worker.take(n, 1000);
  expect(taken).toHaveLength(n);
  return taken;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('durability', () => {
  it('keeps queued tasks, results, store writes and markers across close and reopen', async () => {
    const dir = tempDir();
    let backend = await openAt(dir);
    let dispatch = backend.dispatch();
    await dispatch.submitBatch([task('t1'), task('t2'), task('t3')], 60);
    expect(await dispatch.markOnce('hook:1', 60)).toBe(true);
    let worker = workerOf(backend);
    const [t1, t2] = await takeN(worker, 2);
    expect(
      await worker.complete([done(t1!, '1', { store: store({ sets: [['k', '"v"']] }) })], NOW_ISO),
    ).toEqual(['written']);
    // t2 stays taken (running) when the process stops: pending again after the restart
    expect(t2!.task.taskId).toBe('t2');
    await backend.close();

    backend = await openAt(dir);
    dispatch = backend.dispatch();
    worker = workerOf(backend);
    const again = await worker.take(10, 50);
    expect(again.map((c) => c.task.taskId)).toEqual(['t2', 't3']);
    expect(again[0]!.stored?.script).toBe('"t2"');
    expect(backend.peekTask('t1')).toMatchObject({ status: 'completed', output: '1' });
    expect(backend.peekStore(A)).toEqual({ k: '"v"' });
    expect(await dispatch.markOnce('hook:1', 60)).toBe(false);
    // new tasks queue after the restored ones (seq continues)
    await dispatch.submit(task('t4'), 60);
    await worker.requeueAllHeld();
    expect((await worker.take(10, 50)).map((c) => c.task.taskId)).toEqual(['t2', 't3', 't4']);
  });

  it('has everything acknowledged on disk when the process is killed with SIGKILL', async () => {
    const dir = tempDir();
    const build = buildOnce();
    const child = spawn(
      process.execPath,
      [
        '-e',
        `
const { EmbeddedTaskBackend } = require(${JSON.stringify(path.join(build, 'queue/embedded-backend.js'))});
const A = ${JSON.stringify(A)};
const task = (taskId) => ({ taskId, script: '"x"', callerId: 'c', contextId: A });
(async () => {
  const backend = await EmbeddedTaskBackend.open({ dataDir: ${JSON.stringify(dir)}, logger: require(${JSON.stringify(path.join(build, 'log.js'))}).silentLogger() });
  const dispatch = backend.dispatch();
  await dispatch.start(() => {});
  const worker = backend.worker({ workerId: 'w', circles: [A], taskTtlS: 60 });
  await dispatch.submit(task('answered'), 60);
  const [claimed] = await worker.take(1, 1000);
  const store = { reads: [['k', '0']], sets: [['k', '42']], deletes: [] };
  const written = await worker.complete([{ task: claimed.task, status: 'completed', text: '42', store }], new Date().toISOString());
  await dispatch.submit(task('queued'), 60);
  const marked = await dispatch.markOnce('hook:9', 3600);
  console.log('acked ' + JSON.stringify({ written, marked }));
  setInterval(() => {}, 1000);
})().catch((err) => { console.error(err); process.exit(1); });
`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve();
      });
      child.once('exit', () => reject(new Error(`child exited early: ${err}`)));
    });
    expect(out).toContain('acked {"written":["written"],"marked":true}');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // its lock is left behind by a dead process: taken over
    expect(fs.existsSync(path.join(dir, 'circles.lock'))).toBe(true);

    const backend = await openAt(dir);
    const worker = workerOf(backend);
    expect((await worker.take(10, 50)).map((c) => c.task.taskId)).toEqual(['queued']);
    expect(backend.peekTask('answered')).toMatchObject({ status: 'completed', output: '42' });
    expect(backend.peekStore(A)).toEqual({ k: '42' });
    expect(await backend.dispatch().markOnce('hook:9', 3600)).toBe(false);
  }, 60_000);
});

describe('the data directory', () => {
  it('refuses a second open while the first is open, and takes over a stale lock', async () => {
    const dir = tempDir();
    const first = await openAt(dir);
    await expect(EmbeddedTaskBackend.open({ dataDir: dir, logger: silentLogger() })).rejects.toThrow(
      `data directory ${dir} is in use by process ${process.pid}`,
    );
    await first.close();
    expect(fs.existsSync(path.join(dir, 'circles.lock'))).toBe(false);

    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(path.join(dir, 'circles.lock'), `${gone}\n`);
    const second = await openAt(dir);
    expect(fs.readFileSync(path.join(dir, 'circles.lock'), 'utf8').trim()).toBe(String(process.pid));
    expect(second.dispatch().description).toBe(`embedded (${dir})`);
  });

  it('creates a missing directory and describes itself by its absolute path', async () => {
    const parent = tempDir();
    const relative = path.relative(process.cwd(), path.join(parent, 'a', 'b'));
    const backend = await openAt(relative);
    expect(backend.dataDir).toBe(path.join(parent, 'a', 'b'));
    expect(backend.dispatch().description).toBe(`embedded (${path.join(parent, 'a', 'b')})`);
    expect(fs.statSync(path.join(parent, 'a', 'b')).isDirectory()).toBe(true);
  });

  it('refuses a file, or a path through a file, with one line naming it', async () => {
    const file = path.join(tempDir(), 'plain-file');
    fs.writeFileSync(file, 'x');
    for (const [dataDir, why] of [
      [file, 'not a directory'],
      [path.join(file, 'sub'), 'a path component is not a directory'],
    ] as const) {
      const error = await EmbeddedTaskBackend.open({ dataDir, logger: silentLogger() }).catch(
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(`cannot open data directory ${dataDir}: ${why}`);
    }
  });

  it('refuses a directory it cannot write', async () => {
    const parent = tempDir();
    const dir = path.join(parent, 'read-only');
    fs.mkdirSync(dir, { mode: 0o555 });
    fs.chmodSync(dir, 0o555);
    const expected = `cannot open data directory ${dir}: permission denied`;
    if (process.getuid?.() !== 0) {
      await expect(EmbeddedTaskBackend.open({ dataDir: dir, logger: silentLogger() })).rejects.toThrow(
        expected,
      );
      return;
    }
    // root may write anywhere: try as nobody, from the transpiled tree
    const build = buildOnce();
    fs.chmodSync(build, 0o755);
    fs.chmodSync(parent, 0o755);
    const script = `
require(${JSON.stringify(path.join(build, 'queue/embedded-backend.js'))})
  .EmbeddedTaskBackend.open({ dataDir: ${JSON.stringify(dir)}, logger: require(${JSON.stringify(path.join(build, 'log.js'))}).silentLogger() })
  .then(() => console.log('opened'), (err) => console.log(err.message));`;
    const run = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(expected);
  }, 60_000);

  it('refuses a foreign format and a foreign LMDB environment, and unlocks again', async () => {
    const versioned = tempDir();
    const other = open({ path: versioned });
    await other.openDB('meta', {}).put('format', { name: 'circles-embedded', version: 2 });
    await other.close();
    await expect(EmbeddedTaskBackend.open({ dataDir: versioned, logger: silentLogger() })).rejects.toThrow(
      `data directory ${versioned} holds an unsupported format (circles-embedded version 2)`,
    );
    expect(fs.existsSync(path.join(versioned, 'circles.lock'))).toBe(false);

    const foreign = tempDir();
    const app = open({ path: foreign });
    await app.openDB('users', {}).put('alice', { admin: true });
    await app.close();
    await expect(EmbeddedTaskBackend.open({ dataDir: foreign, logger: silentLogger() })).rejects.toThrow(
      `data directory ${foreign} holds an unsupported format (unknown databases: users)`,
    );
  });

  it('refuses a data file that is not LMDB instead of crashing', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'data.mdb'), 'not a database '.repeat(1000));
    await expect(EmbeddedTaskBackend.open({ dataDir: dir, logger: silentLogger() })).rejects.toThrow(
      `cannot open data directory ${dir}: data.mdb is not an LMDB data file this version can read`,
    );
  });

  it('removes a temporary directory on close; close is idempotent', async () => {
    const backend = await EmbeddedTaskBackend.temporary();
    expect(backend.temporary).toBe(true);
    expect(backend.dispatch().description).toBe('embedded (temporary)');
    expect(fs.existsSync(backend.dataDir)).toBe(true);
    await Promise.all([backend.close(), backend.close()]);
    await backend.close();
    expect(fs.existsSync(backend.dataDir)).toBe(false);
  });
});

describe('dispatching', () => {
  it('reports health and refuses work once closed', async () => {
    const backend = await EmbeddedTaskBackend.temporary();
    const dispatch = backend.dispatch();
    expect(await dispatch.health()).toEqual({ ok: true });
    expect(dispatch.keys.webhookMarker('stripe', A, 'evt')).toBe(`circles:webhook:stripe:${A}:evt`);
    await backend.close();
    expect(await dispatch.health()).toMatchObject({ ok: false });
    await expect(dispatch.submit(task('late'), 60)).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('marks once within the ttl, atomically; unmark and expiry clear it', async () => {
    let now = 1_000_000;
    const backend = await temporary({ clock: () => now });
    const dispatch = backend.dispatch();
    expect(await Promise.all([dispatch.markOnce('m', 10), dispatch.markOnce('m', 10)])).toEqual([
      true,
      false,
    ]);
    expect(await dispatch.markOnce('m', 10)).toBe(false);
    now += 10_000;
    expect(await dispatch.markOnce('m', 10)).toBe(true);
    await dispatch.unmark('m');
    expect(await dispatch.markOnce('m', 10)).toBe(true);
  });

  it('sweeps expired task records and markers from disk', async () => {
    let now = 1_000_000;
    const backend = await temporary({ clock: () => now });
    const dispatch = backend.dispatch();
    await dispatch.submit(task('short'), 1);
    await dispatch.submit(task('long'), 3600);
    await dispatch.markOnce('m', 1);
    now += 2_000;
    expect(backend.peekTask('short')).toBeUndefined(); // expired reads as absent
    await (backend as unknown as { sweep(): Promise<void> }).sweep();
    now -= 2_000; // had they only been hidden, they would show again now
    expect(backend.peekTask('short')).toBeUndefined();
    expect(backend.peekTask('long')).toMatchObject({ status: 'pending' });
    expect(await dispatch.markOnce('m', 1)).toBe(true);
  });
});

describe('taking', () => {
  it('takes oldest first, fairly across circles, and claims', async () => {
    const backend = await temporary();
    const dispatch = backend.dispatch();
    await dispatch.submitBatch([task('a1'), task('a2'), task('a3'), task('b1', B), task('b2', B)], 60);
    const worker = workerOf(backend, [A, B]);
    const taken = await worker.take(4, 100);
    expect(taken.map((c) => c.task.taskId)).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(taken[0]!.stored).toMatchObject({ status: 'pending', script: '"a1"', contextId: A });
    // the claim mark is written without being waited for
    await until(() => backend.peekTask('a1')?.status === 'processing', 'a1 processing', 2000, 5);
    expect((await worker.listHeld()).map((h) => h.taskId).sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('wakes a blocked take on submit, and stopTaking ends one', async () => {
    const backend = await temporary();
    const worker = workerOf(backend);
    const waiting = worker.take(5, 5000);
    await backend.dispatch().submit(task('late'), 60);
    expect((await waiting).map((c) => c.task.taskId)).toEqual(['late']);

    const started = Date.now();
    const blocked = worker.take(5, 5000);
    await worker.stopTaking();
    expect(await blocked).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await worker.take(5, 10)).toEqual([]);
  });

  it('requeues held ids to the front', async () => {
    const backend = await temporary();
    await backend.dispatch().submitBatch([task('t1'), task('t2'), task('t3')], 60);
    const worker = workerOf(backend);
    const [t1, t2] = await takeN(worker, 2);
    expect(await worker.requeue([t2!.task, t1!.task])).toBe(2);
    expect(await worker.requeue([t2!.task])).toBe(0);
    expect((await worker.take(3, 50)).map((c) => c.task.taskId)).toEqual(['t1', 't2', 't3']);
    expect(await worker.requeueAllHeld()).toBe(3);
    expect(await worker.listHeld()).toEqual([]);
  });

  it('reads a missing (expired) record as null', async () => {
    let now = 1_000_000;
    const backend = await temporary({ clock: () => now });
    await backend.dispatch().submit(task('gone'), 1);
    now += 5_000;
    const [claimed] = await takeN(workerOf(backend), 1);
    expect(claimed!.stored).toBeNull();
    expect(backend.peekTask('gone')).toBeUndefined();
  });
});

describe('completing', () => {
  let backend: EmbeddedTaskBackend;
  let dispatch: DispatchBackend;
  let worker: WorkerBackend;
  let replies: TaskReply[];

  async function setUp(extra: Partial<EmbeddedBackendOptions> = {}): Promise<void> {
    backend = await temporary(extra);
    dispatch = backend.dispatch();
    replies = [];
    await dispatch.start((batch) => replies.push(...batch));
    worker = workerOf(backend);
  }

  async function run(...ids: string[]): Promise<ClaimedTask[]> {
    await dispatch.submitBatch(
      ids.map((id) => task(id)),
      60,
    );
    return takeN(worker, ids.length);
  }

  it('versions keys: absent is 0, a write changes it, a stale read conflicts and writes nothing', async () => {
    await setUp();
    expect(await worker.readKeys(A, ['k'])).toEqual([{ value: null, version: '0' }]);
    const [t1] = await run('t1');
    expect(
      await worker.complete(
        [done(t1!, 'ok', { store: store({ reads: [['k', '0']], sets: [['k', '"a"']] }) })],
        NOW_ISO,
      ),
    ).toEqual(['written']);
    const [k1] = await worker.readKeys(A, ['k']);
    expect(k1!.value).toBe('"a"');
    expect(k1!.version).not.toBe('0');

    // two in one call: the second validates against the first's write
    const [t2, t3] = await run('t2', 't3');
    const results = await worker.complete(
      [
        done(t2!, 'b', { store: store({ reads: [['k', k1!.version]], sets: [['k', '"b"']] }) }),
        done(t3!, 'c', { store: store({ reads: [['k', k1!.version]], sets: [['k', '"c"']] }) }),
      ],
      NOW_ISO,
    );
    expect(results).toEqual(['written', 'conflict']);
    expect(backend.peekStore(A)).toEqual({ k: '"b"' });
    expect(backend.peekTask('t3')).toMatchObject({ status: 'processing' });
    // still held: run again, or answer with an error (its reads are still checked)
    expect((await worker.listHeld()).map((h) => h.taskId)).toEqual(['t3']);
    const stale = store({ reads: [['k', k1!.version]] });
    expect(
      await worker.complete([{ task: t3!.task, status: 'error', text: 'x', store: stale }], NOW_ISO),
    ).toEqual(['conflict']);
    expect(await worker.complete([{ task: t3!.task, status: 'error', text: 'gave up' }], NOW_ISO)).toEqual([
      'written',
    ]);
    expect(backend.peekTask('t3')).toMatchObject({ status: 'error', error: 'gave up' });

    // deleting makes it absent again
    const [k2] = await worker.readKeys(A, ['k']);
    const [t4] = await run('t4');
    await worker.complete(
      [done(t4!, 'd', { store: store({ reads: [['k', k2!.version]], deletes: ['k'] }) })],
      NOW_ISO,
    );
    expect(await worker.readKeys(A, ['k'])).toEqual([{ value: null, version: '0' }]);
  });

  it('checks the key-set version of a listing: creating or deleting a key changes it, overwriting does not', async () => {
    await setUp();
    expect(await worker.listKeys(A, '', 10)).toEqual({ keys: [], version: '0' });
    const [t1, t2] = await run('t1', 't2');
    expect(
      await worker.complete(
        [
          done(t1!, '1', { store: store({ listed: '0', sets: [['x', '1']] }) }),
          done(t2!, '2', { store: store({ listed: '0', sets: [['y', '2']] }) }),
        ],
        NOW_ISO,
      ),
    ).toEqual(['written', 'conflict']);
    const listing = await worker.listKeys(A, '', 10);
    expect(listing.keys).toEqual(['x']);
    expect(listing.version).not.toBe('0');
    expect(
      await worker.complete(
        [done(t2!, '2', { store: store({ listed: listing.version, sets: [['x', '3']] }) })],
        NOW_ISO,
      ),
    ).toEqual(['written']);
    expect((await worker.listKeys(A, '', 10)).version).toBe(listing.version);
    const [t3] = await run('t3');
    await worker.complete([done(t3!, '3', { store: store({ deletes: ['x'] }) })], NOW_ISO);
    expect((await worker.listKeys(A, '', 10)).version).not.toBe(listing.version);
  });

  it('refuses writes over the quota, writes nothing and keeps the task held; shrinking is allowed', async () => {
    await setUp({ storeQuotaBytes: 20 });
    const [t1, t2] = await run('t1', 't2');
    // 'k' + '"0123456789"' = 13 bytes
    expect(
      await worker.complete([done(t1!, '1', { store: store({ sets: [['k', '"0123456789"']] }) })], NOW_ISO),
    ).toEqual(['written']);
    expect(
      await worker.complete([done(t2!, '2', { store: store({ sets: [['k2', '"012345"']] }) })], NOW_ISO),
    ).toEqual(['quota']);
    expect(backend.peekStore(A)).toEqual({ k: '"0123456789"' });
    expect((await worker.listHeld()).map((h) => h.taskId)).toEqual(['t2']);
    expect(
      await worker.complete(
        [done(t2!, '2', { store: store({ sets: [['k2', '"012345"']], deletes: ['k'] }) })],
        NOW_ISO,
      ),
    ).toEqual(['written']);
    expect(backend.peekStore(A)).toEqual({ k2: '"012345"' });
  });

  it('lists keys by prefix in UTF-8 byte order, at most limit + 1, one circle only', async () => {
    await setUp();
    const keys = ['b', 'a', 'ab', 'z', 'é', 'ä', '\uffff', '😀', 'a\u0000'];
    const [t1] = await run('t1');
    await worker.complete(
      [done(t1!, '1', { store: store({ sets: keys.map((k) => [k, '1'] as const) }) })],
      NOW_ISO,
    );
    const other = workerOf(backend, [B], 'w2');
    await dispatch.submit(task('tb', B), 60);
    const [tb] = await takeN(other, 1);
    await other.complete([done(tb!, '1', { store: store({ sets: [['aa', '1']] }) })], NOW_ISO);

    const utf8Order = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    // UTF-16 order differs: the astral emoji sorts before U+FFFF there
    expect(utf8Order).not.toEqual([...keys].sort());
    expect((await worker.listKeys(A, '', 100)).keys).toEqual(utf8Order);
    expect((await worker.listKeys(A, 'a', 100)).keys).toEqual(['a', 'a\u0000', 'ab']);
    expect((await worker.listKeys(A, '', 2)).keys).toEqual(utf8Order.slice(0, 3));
    expect((await worker.listKeys(A, 'q', 2)).keys).toEqual([]);
    expect((await other.listKeys(B, '', 10)).keys).toEqual(['aa']);
  });

  it('replies only for written outcomes, after the write; parks replies until a reader starts', async () => {
    await setUp();
    const [t1, t2] = await run('t1', 't2');
    const replyToQueue = t1!.stored!.replyToQueue;
    expect(replyToQueue).toMatch(/^embedded:reply:/);
    const results = await worker.complete(
      [
        done(t1!, 'one', { replyToQueue }),
        done(t2!, 'two', { replyToQueue, store: store({ reads: [['k', '7']] }) }),
        { task: { circlePk: A, taskId: 'never-taken' }, status: 'error', text: 'x', replyToQueue },
      ],
      NOW_ISO,
    );
    expect(results).toEqual(['written', 'conflict', 'not-held']);
    await tick();
    expect(replies).toEqual([{ taskId: 't1', status: 'completed', output: 'one' }]);
    expect(
      await worker.complete([{ task: t2!.task, status: 'error', text: 'bad', replyToQueue }], NOW_ISO),
    ).toEqual(['written']);
    await tick();
    expect(replies[1]).toEqual({ taskId: 't2', status: 'error', error: 'bad' });

    const late = backend.dispatch();
    await late.submit(task('t3'), 60);
    const [t3] = await takeN(worker, 1);
    await worker.complete([done(t3!, 'three', { replyToQueue: t3!.stored!.replyToQueue })], NOW_ISO);
    await tick();
    const parked: TaskReply[] = [];
    await late.start((batch) => parked.push(...batch));
    expect(parked).toEqual([{ taskId: 't3', status: 'completed', output: 'three' }]);
    expect(replies).toHaveLength(2);
  });

  it('completes once: a second completion, or one of a released or requeued task, is not-held', async () => {
    await setUp();
    const [t1, t2, t3] = await run('t1', 't2', 't3');
    expect(await worker.complete([done(t1!, 'a'), done(t1!, 'b')], NOW_ISO)).toEqual(['written', 'not-held']);
    expect(backend.peekTask('t1')).toMatchObject({ output: 'a' });
    await worker.requeue([t2!.task]);
    expect(await worker.complete([done(t2!, 'late')], NOW_ISO)).toEqual(['not-held']);
    await worker.release([t3!.task]);
    expect(await worker.complete([done(t3!, 'late')], NOW_ISO)).toEqual(['not-held']);
    expect(await workerOf(backend, [A], 'w2').complete([done(t1!, 'other')], NOW_ISO)).toEqual(['not-held']);
  });

  it('drops script and input once answered and keeps the rest of the record', async () => {
    await setUp();
    await dispatch.submit(task('t1', A, '{"amount":5}'), 60);
    const [t1] = await takeN(worker, 1);
    expect(t1!.stored).toMatchObject({ script: '"t1"', input: '{"amount":5}' });
    await worker.complete([done(t1!, '5')], NOW_ISO);
    const record = backend.peekTask('t1')!;
    expect(record).not.toHaveProperty('script');
    expect(record).not.toHaveProperty('input');
    expect(record).toMatchObject({
      taskId: 't1',
      status: 'completed',
      output: '5',
      updatedAt: NOW_ISO,
      callerId: 'caller',
      contextId: A,
    });
  });
});
