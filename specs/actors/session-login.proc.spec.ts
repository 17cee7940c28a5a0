import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import { start, stop as stopSystem } from 'nact';
import pino from 'pino';
import { ResumeTokens } from '../../auth/resume-token';
import { createVerifierPool } from '../../auth/verify-pool';
import { LAUNCHER_FLAGS, launcherSchema, SERVER_COMMAND_FLAGS, serverSchema } from '../../cmd/flags';
import { configReport, FlagError, resolveSettings } from '../../cmd/options';
import { launchCircles } from '../../launcher/launch';
import { silentLogger, type Logger } from '../../log';
import { buildOnce, killAll, launch } from '../support/cli';
import { FakeClock } from '../support/fake-clock';
import { startGateway, type TestGateway } from '../support/gateway';
import { freePort, startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient, type RpcMessage } from '../support/rpc-client';
import { startFakeWorker, type Answer, type FakeWorker } from '../support/fake-worker';
import { until } from '../support/until';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const OTHER_CIRCLE = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const SECRET = 'session-login-spec-secret-0123456789abcdef';
const TTL = 600;
/** The spec's clock starts at the real time, so servers on the real clock accept its tokens too. */
const T0 = Math.floor(Date.now() / 1000);

/** ethers' createRandom derives an HD wallet (slow); a bare random key is all we need. */
const randomWallet = (): Wallet => new Wallet(`0x${randomBytes(32).toString('hex')}`);
const pkOf = (w: Wallet): string => w.signingKey.compressedPublicKey.slice(2);

/** Log lines of a logger, as written (JSON text). */
function capturingLogger(level: 'debug' | 'trace'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level }, { write: (line: string) => void lines.push(line) }), lines };
}

/** Echo worker: `slow:` scripts answer after 1.2 s (past the play timeout), `fail:` ones error. */
const echo = async (t: Record<string, string>): Promise<Answer> => {
  if (t.script!.startsWith('slow:')) await new Promise((r) => setTimeout(r, 1200));
  return t.script!.startsWith('fail:')
    ? { status: 'error', error: `boom: ${t.script}` }
    : { status: 'completed', output: `ran ${t.script} as ${t.callerId}` };
};

async function addressLogin(c: RpcClient, w: Wallet, address = w.address): Promise<any> {
  const { nonce } = await c.call('fetch_nonce', { address });
  return c.call('authenticate', { address, signature: await w.signMessage(nonce) });
}

async function pubkeyLogin(c: RpcClient, w: Wallet): Promise<any> {
  const { nonce } = await c.call('fetch_nonce', [pkOf(w)]);
  return c.call('authenticate', [pkOf(w), await w.signMessage(nonce)]);
}

const errorOf = (m: RpcMessage): { code?: number; paths?: string[] } => ({
  code: m.error?.code,
  paths: (m.error?.data?.issues as { path: string }[] | undefined)?.map((i) => i.path),
});

let redis: TestRedis;
const verifier = createVerifierPool(2);
const clock = new FakeClock(T0);
let gw: TestGateway;
let gwLog: string[];
const fakeWorkers: FakeWorker[] = [];
const issuedTokens = new Set<string>();
const cleanup: (() => Promise<unknown>)[] = [];
/** Every client a test opens is closed after it, passed or not. */
async function connect(url: string): Promise<RpcClient> {
  const c = await RpcClient.connect(url);
  cleanup.push(() => c.close());
  return c;
}
/** Remembers tokens the server issued, for the log check at the end. */
function kept<T extends { resume_token?: string }>(result: T): T {
  if (result.resume_token) issuedTokens.add(result.resume_token);
  return result;
}

beforeAll(async () => {
  redis = await startRedis();
  const ns = redis.namespace();
  const captured = capturingLogger('debug');
  gwLog = captured.lines;
  gw = await startGateway(
    redis.url,
    ns,
    { circles: [CIRCLE, OTHER_CIRCLE], sessionSecret: SECRET, sessionTtlSeconds: TTL, playTimeoutMs: 600 },
    { verifier, now: clock.read, logger: captured.logger },
  );
  for (const circle of [CIRCLE, OTHER_CIRCLE])
    fakeWorkers.push(await startFakeWorker(redis.url, ns, circle, echo));
});
afterEach(async () => {
  clock.now = T0;
  await Promise.all(cleanup.splice(0).map((f) => f()));
});
afterAll(async () => {
  for (const w of fakeWorkers) await w.stop();
  await gw.stop();
  await verifier.close();
  await redis.stop();
  await killAll();
});

describe('address login (SPEC §3.7)', () => {
  it('one signature over a nonce fetched for the address: the key is recovered and named', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const w = randomWallet();
    const { nonce, expires_at } = await c.call('fetch_nonce', { address: w.address });
    expect(nonce).toMatch(new RegExp(`^nonce_${T0}_[0-9a-f]{32,}$`));
    expect(expires_at).toBe(T0 + 300);
    const result = kept(
      await c.call('authenticate', { address: w.address, signature: await w.signMessage(nonce) }),
    );
    expect(result).toEqual({
      authenticated: true,
      pubkey: pkOf(w),
      address: w.address,
      resume_token: expect.stringMatching(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
      resume_expires_at: T0 + TTL,
    });
    expect(await c.call('whoami')).toEqual({
      authenticated: true,
      pubkey: pkOf(w),
      address: w.address,
      circle: CIRCLE,
    });
    expect((await c.call('play', ['hi'])).output).toBe(`ran hi as ${pkOf(w)}`);
  });

  it('takes the address in lower or upper case and answers it EIP-55', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const w = randomWallet();
    for (const form of [w.address.toLowerCase(), `0x${w.address.slice(2).toUpperCase()}`]) {
      expect(kept(await addressLogin(c, w, form))).toMatchObject({ pubkey: pkOf(w), address: w.address });
    }
  });

  it('a nonce bound to an address is not one for the key, and the other way round', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const w = randomWallet();
    const forAddress = (await c.call('fetch_nonce', { address: w.address })).nonce;
    const forKey = (await c.call('fetch_nonce', [pkOf(w)])).nonce;
    const sigA = await w.signMessage(forAddress);
    const sigK = await w.signMessage(forKey);
    // each nonce answers only the form it was fetched for; a failure consumes that form's nonces
    expect(errorOf(await c.request('authenticate', [pkOf(w), sigA])).code).toBe(-32002);
    expect(errorOf(await c.request('authenticate', { address: w.address, signature: sigK })).code).toBe(
      -32002,
    );
    expect(errorOf(await c.request('authenticate', { address: w.address, signature: sigA })).code).toBe(
      -32002,
    );
  });

  it('pubkey logins return the same result, with the address', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const w = randomWallet();
    expect(await c.call('whoami')).toEqual({
      authenticated: false,
      pubkey: null,
      address: null,
      circle: CIRCLE,
    });
    expect(kept(await pubkeyLogin(c, w))).toEqual({
      authenticated: true,
      pubkey: pkOf(w),
      address: w.address,
      resume_token: expect.any(String),
      resume_expires_at: T0 + TTL,
    });
    expect((await c.call('whoami')).address).toBe(w.address);
  });
});

describe('resume tokens (SPEC §3.8)', () => {
  it('resume on a new connection without a signature, and slide', async () => {
    const w = randomWallet();
    const first = await connect(`${gw.url}/${CIRCLE}`);
    const login = kept(await addressLogin(first, w));
    await first.close();
    clock.now = T0 + 100;
    const second = await connect(`${gw.url}/${CIRCLE}`);
    const resumed = kept(await second.call('authenticate', { resume_token: login.resume_token }));
    expect(resumed).toEqual({
      authenticated: true,
      pubkey: pkOf(w),
      address: w.address,
      resume_token: expect.any(String),
      resume_expires_at: T0 + 100 + TTL,
    });
    expect(resumed.resume_token).not.toBe(login.resume_token);
    expect((await second.call('play', ['again'])).output).toBe(`ran again as ${pkOf(w)}`);
    // the old token still works until it expires; the new one for longer
    clock.now = T0 + TTL + 50;
    expect(errorOf(await second.request('authenticate', { resume_token: login.resume_token })).code).toBe(
      -32002,
    );
    expect(kept(await second.call('authenticate', { resume_token: resumed.resume_token })).pubkey).toBe(
      pkOf(w),
    );
  });

  it('two servers sharing a secret accept each other’s tokens; a server with another secret does not', async () => {
    const ns = redis.namespace();
    const twin = await startGateway(
      redis.url,
      ns,
      { circles: [CIRCLE], sessionSecret: SECRET },
      { verifier, now: clock.read },
    );
    cleanup.push(() => twin.stop());
    const stranger = await startGateway(
      redis.url,
      ns,
      { circles: [CIRCLE], sessionSecret: `${SECRET}-not-the-same` },
      { verifier, now: clock.read },
    );
    cleanup.push(() => stranger.stop());
    const w = randomWallet();
    const onA = await connect(`${gw.url}/${CIRCLE}`);
    const fromA = kept(await pubkeyLogin(onA, w));
    const onB = await connect(`${twin.url}/${CIRCLE}`);
    const fromB = kept(await onB.call('authenticate', { resume_token: fromA.resume_token }));
    expect(fromB).toMatchObject({ authenticated: true, pubkey: pkOf(w), address: w.address });
    // and back: B's token on A
    const again = await connect(`${gw.url}/${CIRCLE}`);
    expect(kept(await again.call('authenticate', { resume_token: fromB.resume_token })).pubkey).toBe(pkOf(w));
    const onC = await connect(`${stranger.url}/${CIRCLE}`);
    expect(errorOf(await onC.request('authenticate', { resume_token: fromA.resume_token })).code).toBe(
      -32002,
    );
    expect((await onC.call('whoami')).authenticated).toBe(false);
  });
});

describe('task_status (SPEC §3.9)', () => {
  it('answers a finished play by name and by position', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const w = randomWallet();
    kept(await pubkeyLogin(c, w));
    const { task_id } = await c.call('play', ['x']);
    const expected = { task_id, status: 'completed', output: `ran x as ${pkOf(w)}` };
    expect(await c.call('task_status', { task_id })).toEqual(expected);
    expect(await c.call('task_status', [task_id])).toEqual(expected);
    const failed = await c.request('play', ['fail: y']);
    expect(await c.call('task_status', [failed.error!.data.task_id])).toEqual({
      task_id: failed.error!.data.task_id,
      status: 'error',
      error: 'boom: fail: y',
    });
  });

  it('fetches the result of a play that timed out (-32003), from a new connection', async () => {
    const w = randomWallet();
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const login = kept(await addressLogin(c, w));
    const timedOut = await c.request('play', ['slow: work']);
    expect(timedOut.error?.code).toBe(-32003);
    const taskId: string = timedOut.error!.data.task_id;
    expect((await c.call('task_status', [taskId])).status).toMatch(/^(pending|processing)$/);
    await c.close();
    const d = await connect(`${gw.url}/${CIRCLE}`);
    kept(await d.call('authenticate', { resume_token: login.resume_token }));
    const done = await until(async () => {
      const s = await d.call('task_status', [taskId]);
      return s.status === 'completed' ? s : undefined;
    }, 'the slow task to complete');
    expect(done).toEqual({ task_id: taskId, status: 'completed', output: `ran slow: work as ${pkOf(w)}` });
  });

  it("another identity's task, another circle's, an unknown id: -32006 alike", async () => {
    const owner = randomWallet();
    const c = await connect(`${gw.url}/${CIRCLE}`);
    kept(await pubkeyLogin(c, owner));
    const { task_id } = await c.call('play', ['mine']);
    // another identity, another session
    const other = await connect(`${gw.url}/${CIRCLE}`);
    kept(await addressLogin(other, randomWallet()));
    expect(errorOf(await other.request('task_status', [task_id]))).toEqual({
      code: -32006,
      paths: undefined,
    });
    // an anonymous session
    const anonymous = await connect(`${gw.url}/${CIRCLE}`);
    expect(errorOf(await anonymous.request('task_status', [task_id])).code).toBe(-32006);
    // the same session after logging in as someone else
    kept(await pubkeyLogin(c, randomWallet()));
    expect(errorOf(await c.request('task_status', [task_id])).code).toBe(-32006);
    // the owner, in another circle
    const elsewhere = await connect(`${gw.url}/${OTHER_CIRCLE}`);
    kept(await pubkeyLogin(elsewhere, owner));
    expect(errorOf(await elsewhere.request('task_status', [task_id])).code).toBe(-32006);
    // the owner, in the task's circle
    const back = await connect(`${gw.url}/${CIRCLE}`);
    kept(await pubkeyLogin(back, owner));
    expect((await back.call('task_status', [task_id])).status).toBe('completed');
    // an id that never existed
    expect(errorOf(await back.request('task_status', ['00000000-0000-4000-8000-000000000000'])).code).toBe(
      -32006,
    );
  });

  it('anonymous tasks are visible to anonymous sessions only', async () => {
    const a = await connect(`${gw.url}/${CIRCLE}`);
    const { task_id } = await a.call('play', ['anon']);
    expect(await a.call('task_status', [task_id])).toMatchObject({ status: 'completed' });
    const b = await connect(`${gw.url}/${CIRCLE}`);
    expect((await b.call('task_status', { task_id })).output).toBe('ran anon as anonymous');
    kept(await pubkeyLogin(b, randomWallet()));
    expect(errorOf(await b.request('task_status', { task_id })).code).toBe(-32006);
  });

  it.each([
    [{}, 'task_id'],
    [{ task_id: 'not-a-uuid' }, 'task_id'],
    [{ task_id: 'rhailib:reply:x' }, 'task_id'],
    [[5], '0'],
    [['00000000-0000-4000-8000-000000000000', 'extra'], '(params)'],
  ])('task_status %j → -32602 naming %s', async (params, field) => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const e = errorOf(await c.request('task_status', params));
    expect(e.code).toBe(-32602);
    expect(e.paths).toContain(field);
  });

  it('requires authentication under --auth (-32001)', async () => {
    const secured = await startGateway(
      redis.url,
      redis.namespace(),
      { circles: [CIRCLE], auth: true },
      { verifier },
    );
    cleanup.push(() => secured.stop());
    const c = await connect(`${secured.url}/${CIRCLE}`);
    const id = '00000000-0000-4000-8000-000000000000';
    expect(errorOf(await c.request('task_status', [id])).code).toBe(-32001);
    kept(await pubkeyLogin(c, randomWallet()));
    expect(errorOf(await c.request('task_status', [id])).code).toBe(-32006);
  });

  it('answers -32004 at once while the task backend is down', async () => {
    const down = await startGateway(
      `redis://127.0.0.1:${await freePort()}`,
      'x:',
      { circles: [CIRCLE] },
      { verifier },
    );
    cleanup.push(() => down.stop());
    const c = await connect(`${down.url}/${CIRCLE}`);
    const t = performance.now();
    expect(errorOf(await c.request('task_status', ['00000000-0000-4000-8000-000000000000'])).code).toBe(
      -32004,
    );
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('works the same on the embedded backend (launcher), where a Redis server’s token also resumes', async () => {
    const system = start();
    const launched = await launchCircles(system, {
      circles: [{ pk: CIRCLE }],
      temporaryData: true,
      concurrency: 1,
      server: { port: 0, logLevel: 'silent', sessionSecret: SECRET },
      logger: silentLogger(),
    });
    cleanup.push(async () => {
      await launched.stop();
      stopSystem(system);
    });
    const w = randomWallet();
    const onRedis = await connect(`${gw.url}/${CIRCLE}`);
    const token = kept(await addressLogin(onRedis, w)).resume_token;
    const c = await connect(`${launched.server.url}/${CIRCLE}`);
    // the launcher runs on the real clock, a few seconds past the spec's T0: the token is valid
    expect(kept(await c.call('authenticate', { resume_token: token })).pubkey).toBe(pkOf(w));
    const { task_id, output } = await c.call('play', ['6 * 7']);
    expect(output).toBe('42');
    expect(await c.call('task_status', [task_id])).toEqual({ task_id, status: 'completed', output: '42' });
    const failed = await c.request('play', ['1 + true']);
    expect((await c.call('task_status', [failed.error!.data.task_id])).status).toBe('error');
    const stranger = await connect(`${launched.server.url}/${CIRCLE}`);
    expect(errorOf(await stranger.request('task_status', [task_id])).code).toBe(-32006);
  });
});

describe('bad input', () => {
  const w = randomWallet();
  const mixed = w.address.slice(2);
  const letter = [...mixed].findIndex((ch) => /[a-fA-F]/.test(ch));
  const flip = (ch: string): string => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase());
  let wrongChecksum = `0x${mixed.slice(0, letter)}${flip(mixed[letter]!)}${mixed.slice(letter + 1)}`;
  if (wrongChecksum.slice(2) === wrongChecksum.slice(2).toLowerCase()) wrongChecksum = `0x${flip(mixed)}`;
  const sig65 = `0x${'11'.repeat(64)}1b`;

  it.each([
    ['fetch_nonce', { address: 'xyz' }, 'address'],
    ['fetch_nonce', { address: `0x${'ab'.repeat(19)}` }, 'address'],
    ['fetch_nonce', { address: w.address.slice(2) }, 'address'],
    ['fetch_nonce', { address: `0x${'g'.repeat(40)}` }, 'address'],
    ['fetch_nonce', { address: 7 }, 'address'],
    ['fetch_nonce', { address: wrongChecksum }, 'address'],
    ['authenticate', { address: wrongChecksum, signature: sig65 }, 'address'],
    ['authenticate', { address: '0x12', signature: sig65 }, 'address'],
    ['authenticate', { address: w.address, signature: sig65.slice(0, 130) }, 'signature'],
    ['authenticate', { address: w.address, signature: 'zz' }, 'signature'],
    ['authenticate', { address: w.address }, 'signature'],
    ['authenticate', { resume_token: 5 }, 'resume_token'],
    ['authenticate', { resume_token: 'x'.repeat(1025) }, 'resume_token'],
  ])('%s %j → -32602 naming %s (not counted as a failed login)', async (method, params, field) => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    for (let i = 0; i < 6; i++) {
      const e = errorOf(await c.request(method, params));
      expect(e.code).toBe(-32602);
      expect(e.paths).toContain(field);
    }
    expect((await c.call('whoami')).authenticated).toBe(false); // six times, still open
  });

  /** One failed login of each kind; each must answer -32002 and count toward the close. */
  const failures: [string, (c: RpcClient) => Promise<RpcMessage>][] = [
    [
      'a signature that recovers to another address',
      async (c) => {
        const { nonce } = await c.call('fetch_nonce', { address: w.address });
        return c.request('authenticate', {
          address: w.address,
          signature: await randomWallet().signMessage(nonce),
        });
      },
    ],
    [
      'an address login without a nonce for that address',
      async (c) => {
        const { nonce } = await c.call('fetch_nonce', [pkOf(w)]);
        return c.request('authenticate', { address: w.address, signature: await w.signMessage(nonce) });
      },
    ],
    [
      'an expired token',
      async (c) => {
        const token = new ResumeTokens(SECRET, TTL).issue(CIRCLE, pkOf(w), T0 - TTL).token;
        return c.request('authenticate', { resume_token: token });
      },
    ],
    [
      'a token signed with another secret',
      async (c) => {
        const token = new ResumeTokens(`${SECRET}?`, TTL).issue(CIRCLE, pkOf(w), T0).token;
        return c.request('authenticate', { resume_token: token });
      },
    ],
    [
      'a truncated token',
      async (c) => {
        const token = new ResumeTokens(SECRET, TTL).issue(CIRCLE, pkOf(w), T0).token;
        return c.request('authenticate', { resume_token: token.slice(0, -1) });
      },
    ],
    [
      'a tampered token (identity changed)',
      async (c) => {
        const token = new ResumeTokens(SECRET, TTL).issue(CIRCLE, pkOf(w), T0).token;
        const i = 60; // inside the identity's bytes
        return c.request('authenticate', {
          resume_token: token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1),
        });
      },
    ],
    [
      'a token for another circle',
      async (c) => {
        const token = new ResumeTokens(SECRET, TTL).issue(OTHER_CIRCLE, pkOf(w), T0).token;
        return c.request('authenticate', { resume_token: token });
      },
    ],
    ['an empty token', (c) => c.request('authenticate', { resume_token: '' })],
  ];

  it('a genuine token of the kind the failures forge is accepted (the table can fail)', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    const token = new ResumeTokens(SECRET, TTL).issue(CIRCLE, pkOf(w), T0).token;
    expect(kept(await c.call('authenticate', { resume_token: token })).address).toBe(w.address);
  });

  it.each(failures)('%s: -32002, and five of them close the session with 1008', async (_what, fail) => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    for (let i = 0; i < 5; i++) expect(errorOf(await fail(c)).code).toBe(-32002);
    expect((await c.closed).code).toBe(1008);
  });

  it('failures of different kinds add up to the same five', async () => {
    const c = await connect(`${gw.url}/${CIRCLE}`);
    for (const [, fail] of failures.slice(0, 4)) expect(errorOf(await fail(c)).code).toBe(-32002);
    expect((await c.call('whoami')).circle).toBe(CIRCLE); // four: still open
    expect(errorOf(await failures[4]![1](c)).code).toBe(-32002);
    expect((await c.closed).code).toBe(1008);
  });
});

describe('GET /circles', () => {
  it('lists the circles served; HEAD answers alike without a body', async () => {
    const r = await fetch(`${gw.http}/circles`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(await r.json()).toEqual({ circles: [CIRCLE, OTHER_CIRCLE] });
    const head = await fetch(`${gw.http}/circles`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('is empty in development mode', async () => {
    const dev = await startGateway(redis.url, redis.namespace(), {}, { verifier });
    cleanup.push(() => dev.stop());
    expect(await (await fetch(`${dev.http}/circles`)).json()).toEqual({ circles: [] });
  });
});

describe('flags: --session-ttl, --session-secret', () => {
  type Resolve = (
    cli: Record<string, unknown>,
    env?: NodeJS.ProcessEnv,
    configFile?: string,
  ) => { values: Record<string, unknown>; sources: Record<string, string> };
  const server: Resolve = (cli, env = {}, configFile) =>
    resolveSettings({ specs: SERVER_COMMAND_FLAGS, schema: serverSchema, cli, env, configFile });
  const launcher: Resolve = (cli, env = {}, configFile) =>
    resolveSettings({ specs: LAUNCHER_FLAGS, schema: launcherSchema, cli, env, configFile });

  it.each([
    ['circles-server', server, SERVER_COMMAND_FLAGS],
    ['circles-launcher', launcher, LAUNCHER_FLAGS],
  ])('%s: flag, environment and config file; defaults; the secret redacted', (_cmd, settingsOf, flags) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-session-flags-'));
    const file = path.join(dir, 'circles.json');
    fs.writeFileSync(file, JSON.stringify({ sessionTtl: 120, sessionSecret: SECRET }));
    const defaults = settingsOf({});
    expect(defaults.values).toMatchObject({ sessionTtl: 3600 });
    expect(defaults.values.sessionSecret).toBeUndefined();
    const fromFile = settingsOf({}, {}, file);
    expect(fromFile.values).toMatchObject({ sessionTtl: 120, sessionSecret: SECRET });
    const fromEnv = settingsOf(
      {},
      { CIRCLES_SESSION_TTL: '90', CIRCLES_SESSION_SECRET: `${SECRET}-env` },
      file,
    );
    expect(fromEnv.values).toMatchObject({ sessionTtl: 90, sessionSecret: `${SECRET}-env` });
    expect(fromEnv.sources).toMatchObject({
      sessionTtl: 'env:CIRCLES_SESSION_TTL',
      sessionSecret: 'env:CIRCLES_SESSION_SECRET',
    });
    const fromFlag = settingsOf({ sessionTtl: 30 }, { CIRCLES_SESSION_TTL: '90' });
    expect(fromFlag.values.sessionTtl).toBe(30);
    const report = configReport(flags, fromEnv);
    expect(report).not.toContain(SECRET);
    expect(JSON.parse(report)).toMatchObject({ sessionSecret: '***', sessionTtl: 90 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [{ sessionTtl: 0 }, {}, '--session-ttl: '],
    [{}, { CIRCLES_SESSION_TTL: 'soon' }, 'CIRCLES_SESSION_TTL: '],
    [{ sessionSecret: 'too-short' }, {}, '--session-secret: must be at least 32 characters'],
  ])('refuses %j %j with one line naming it', (cli, env, message) => {
    let error: unknown;
    try {
      server(cli, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FlagError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('circles-server --print-config shows the secret as *** (a real process)', async () => {
    buildOnce();
    const run = launch('circles-server', ['--print-config', '--session-ttl', '45'], {
      CIRCLES_SESSION_SECRET: SECRET,
    });
    expect(await run.exited).toBe(0);
    expect(run.stdout()).not.toContain(SECRET);
    expect(JSON.parse(run.stdout())).toMatchObject({ sessionSecret: '***', sessionTtl: 45 });
  });

  it.each([
    ['without a secret: says once that tokens die with the process', {}, 1],
    ['with one: says nothing of it, and never logs it', { CIRCLES_SESSION_SECRET: SECRET }, 0],
  ])('circles-server %s', async (_what, env, notes) => {
    buildOnce();
    const run = launch(
      'circles-server',
      ['--port', '0', '--redis-url', redis.url, '--log-format', 'json', '--log-level', 'debug'],
      env,
    );
    await run.waitFor(/listening on (ws:\/\/[^ \n]+)/);
    run.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const notices = run.stderr().match(/will not survive a restart/g) ?? [];
    expect(notices).toHaveLength(notes);
    expect(run.stderr()).not.toContain(SECRET);
  });
});

describe('logs', () => {
  it('never carry a resume token or the secret, at debug level, whatever happened', async () => {
    // one more run with a trace-level logger, through every path a token takes
    const captured = capturingLogger('trace');
    const traced = await startGateway(
      redis.url,
      redis.namespace(),
      { circles: [CIRCLE], sessionSecret: SECRET },
      { verifier, logger: captured.logger },
    );
    cleanup.push(() => traced.stop());
    const c = await connect(`${traced.url}/${CIRCLE}`);
    const w = randomWallet();
    const tokens = [kept(await addressLogin(c, w)).resume_token as string];
    tokens.push(kept(await c.call('authenticate', { resume_token: tokens[0] })).resume_token);
    const tampered = `${tokens[1]!.slice(0, -3)}AAA`;
    expect(errorOf(await c.request('authenticate', { resume_token: tampered })).code).toBe(-32002);
    expect(errorOf(await c.request('authenticate', { resume_token: tokens[0]!.slice(0, 40) })).code).toBe(
      -32002,
    );
    await c.request('task_status', ['00000000-0000-4000-8000-000000000000']);
    await c.close();

    const all = [...captured.lines, ...gwLog];
    expect(captured.lines.some((l) => l.includes('"msg":"login"'))).toBe(true); // the capture works
    expect(gwLog.some((l) => l.includes('"msg":"login"'))).toBe(true);
    expect(issuedTokens.size).toBeGreaterThan(10);
    for (const token of [...issuedTokens, tampered, tokens[0]!.slice(0, 40)]) {
      for (const part of [token, token.split('.')[1]!, token.split('.')[2]!]) {
        expect(all.filter((l) => l.includes(part))).toEqual([]);
      }
    }
    expect(all.filter((l) => l.includes(SECRET))).toEqual([]);
  });
});
