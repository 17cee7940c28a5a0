import net from 'node:net';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import vm from 'node:vm';
import { buildSync } from 'esbuild';
import WebSocket from 'ws';
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { Wallet } from 'ethers';
import { personalMessageDigest } from '../../auth/eip191';
import { createVerifierPool } from '../../auth/verify-pool';
import {
  CirclesClient,
  CirclesConnectionError,
  CirclesRpcError,
  CirclesTimeoutError,
  eip1193Signer,
  messageSigner,
  privateKeySigner,
  randomPrivateKey,
  type ClientOptions,
  type Signer,
} from '../../client';
import type { ServerOptionsInput } from '../../server/options';
import { silentLogger } from '../../log';
import { startWorker, type WorkerHandle } from '../../worker';
import { startGateway, type TestGateway } from '../support/gateway';
import { freePort, startRedis, type TestRedis } from '../support/redis-server';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { startFakeWorker, type Answer, type FakeWorker } from '../support/fake-worker';
import { until } from '../support/until';
import { REPO_ROOT } from '../support/repo-root';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
/** A circle served by the gateway with a real Rhai worker behind it. */
const RHAI_CIRCLE = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';

/**
 * The stand-in worker's answers, chosen by the script text: `hang` never answers, `fail:...`
 * fails, `wait:<ms>:<tag>` answers `<tag>` after <ms>, anything else is echoed at once.
 */
const answer = async (t: Record<string, string>): Promise<Answer> => {
  const script = t.script!;
  if (script === 'hang') return { status: 'none' };
  if (script.startsWith('fail:')) return { status: 'error', error: `boom (line 1, position 1): ${script}` };
  const wait = /^wait:(\d+):(.*)$/.exec(script);
  if (wait) {
    await new Promise((r) => setTimeout(r, Number(wait[1])));
    return { status: 'completed', output: wait[2]! };
  }
  return { status: 'completed', output: `echo ${script} as ${t.callerId}` };
};

/** A fake signer around a real one, counting the signatures a login asks for (resume must not ask for one). */
function countingFakeSigner(signer: Signer): Signer & { signatures: () => number } {
  let n = 0;
  return {
    kind: signer.kind,
    identity: () => signer.identity(),
    signMessage: (m) => {
      n += 1;
      return signer.signMessage(m);
    },
    signatures: () => n,
  };
}

/** Records the client's events in order, with their details. */
function recordEvents(client: CirclesClient): { name: string; detail: any }[] {
  const seen: { name: string; detail: any }[] = [];
  for (const name of ['open', 'close', 'reconnecting', 'authenticated', 'error'] as const) {
    client.on(name, (detail) => seen.push({ name, detail }));
  }
  return seen;
}

/** Event names with repeats of `reconnecting` collapsed, for order checks. */
const order = (events: { name: string }[]): string[] =>
  events.map((e) => e.name).filter((n, i, all) => n !== 'reconnecting' || all[i - 1] !== 'reconnecting');

let redis: TestRedis;
const verifier = createVerifierPool(1);
const clients: CirclesClient[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

/** A client closed after each test, whatever happens. */
function newClient(opts: ClientOptions): CirclesClient {
  const c = new CirclesClient(opts);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const f of cleanups.splice(0).reverse()) await f();
});
afterAll(async () => {
  await verifier.close();
  await redis.stop();
});

interface Stage {
  gw: TestGateway;
  fakeWorker: FakeWorker;
  ns: string;
  port: number;
  url: string;
  restart(options?: Partial<ServerOptionsInput>): Promise<void>;
}

/** A gateway (on a port it can come back on) with the stand-in worker behind it. */
async function stage(options: Partial<ServerOptionsInput> = {}): Promise<Stage> {
  const ns = redis.namespace();
  const port = await freePort();
  const start = (extra: Partial<ServerOptionsInput> = {}): Promise<TestGateway> =>
    startGateway(redis.url, ns, { circles: [CIRCLE], port, ...options, ...extra }, { verifier });
  const s: Stage = {
    gw: await start(),
    fakeWorker: await startFakeWorker(redis.url, ns, CIRCLE, answer),
    ns,
    port,
    url: `ws://127.0.0.1:${port}/${CIRCLE}`,
    async restart(extra) {
      await s.gw.stop();
      s.gw = await start(extra);
    },
  };
  cleanups.push(async () => {
    await s.fakeWorker.stop();
    await s.gw.stop();
  });
  return s;
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy(port);
  cleanups.push(() => proxy.stop());
  return proxy;
}

describe('connecting', () => {
  it('gives up after connectTimeoutMs on a port that accepts TCP but never answers the upgrade', async () => {
    const held: net.Socket[] = [];
    const mute = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      held.forEach((s) => s.destroy());
      await new Promise((r) => mute.close(r));
    });
    const port = (mute.address() as net.AddressInfo).port;
    const client = newClient({ url: `ws://127.0.0.1:${port}/${CIRCLE}`, connectTimeoutMs: 300 });
    const t0 = Date.now();
    const err = await client.connect().catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(CirclesConnectionError);
    expect((err as Error).message).toMatch(/within 300 ms/);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3000);
    expect(held.length).toBe(1); // it did reach the TCP stage
    expect(client.state).toBe('idle');
  });

  it('rejects at once when nothing listens, and when the server refuses the circle', async () => {
    const closed = await freePort();
    const refused = newClient({ url: `ws://127.0.0.1:${closed}/${CIRCLE}` });
    await expect(refused.connect()).rejects.toBeInstanceOf(CirclesConnectionError);
    const s = await stage();
    const other = '0381aaadc8a5e83f4576df823cf22a5b1969cf704a0d5f6f68bd757410c9917aac';
    const notServed = newClient({ url: `ws://127.0.0.1:${s.port}/${other}` });
    // refused at once, not timed out (`ws` names the status; browsers and Node's own WebSocket do not)
    const err = await notServed.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CirclesConnectionError);
    expect((err as Error).message).toMatch(/^connection to .* failed/);
  });

  it('refuses a URL that is not ws:// or wss:// before connecting', () => {
    expect(() => new CirclesClient({ url: 'http://127.0.0.1:1/x' })).toThrow(TypeError);
    expect(() => new CirclesClient({ url: 'not a url' })).toThrow(TypeError);
  });
});

describe('calls', () => {
  it('logs in with a private key (one signature) and plays a real Rhai script', async () => {
    const ns = redis.namespace();
    const gw = await startGateway(redis.url, ns, { circles: [RHAI_CIRCLE] }, { verifier });
    const worker: WorkerHandle = await startWorker(
      { circles: [RHAI_CIRCLE], redisUrl: redis.url, namespace: ns, concurrency: 1 },
      { logger: silentLogger() },
    );
    cleanups.push(async () => {
      await worker.stop();
      await gw.stop();
    });
    const client = newClient({ url: `${gw.url}/${RHAI_CIRCLE}` });
    await client.connect();
    expect(client.state).toBe('open');
    const key = randomPrivateKey();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const signer = countingFakeSigner(privateKeySigner(key));
    const pubkey = await signer.identity();
    expect(pubkey).toBe(Buffer.from(secp256k1.getPublicKey(key, true)).toString('hex'));
    const auth = await client.login(signer);
    expect(auth.authenticated).toBe(true);
    expect(signer.signatures()).toBe(1);
    expect(client.identity).toEqual(auth);
    await expect(client.whoami()).resolves.toMatchObject({
      authenticated: true,
      pubkey,
      circle: RHAI_CIRCLE,
    });
    await expect(client.play('40 + 2')).resolves.toMatchObject({ output: '42' });
    const mine = await client.play('CALLER_ID');
    expect(mine.output).toBe(pubkey);
    expect(mine.task_id).toMatch(/^[0-9a-f-]{36}$/);
    const err = await client.play('let x = ;').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CirclesRpcError);
    expect((err as CirclesRpcError).code).toBe(-32000);
    expect((err as CirclesRpcError).data).toMatchObject({
      task_id: expect.any(String),
      error: expect.any(String),
    });
  });

  it('times a call out after its timeout, saying it had been sent', async () => {
    const s = await stage();
    const client = newClient({ url: s.url, callTimeoutMs: 60_000 });
    await client.connect();
    const t0 = Date.now();
    const err = await client.play('hang', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CirclesTimeoutError);
    expect((err as CirclesTimeoutError).sent).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2000);
    // the session is still usable
    await expect(client.whoami()).resolves.toMatchObject({ authenticated: false });
  });

  it('pipelines many calls and matches answers that come back in any order by id', async () => {
    const s = await stage();
    const client = newClient({ url: s.url });
    await client.connect();
    const n = 30;
    const finished: number[] = [];
    // the first sent is answered last
    const calls = Array.from({ length: n }, (_, i) =>
      client.play(`wait:${(n - i) * 15}:answer-${i}`).then((r) => {
        finished.push(i);
        return r.output;
      }),
    );
    const outputs = await Promise.all(calls);
    expect(outputs).toEqual(Array.from({ length: n }, (_, i) => `answer-${i}`));
    expect(finished).not.toEqual([...finished].sort((a, b) => a - b));
    expect(finished.indexOf(n - 1)).toBeLessThan(finished.indexOf(0));
  });

  it('never retries a call the server answered with an error', async () => {
    const s = await stage();
    const client = newClient({ url: s.url });
    await client.connect();
    const err = await client.play('fail:once').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CirclesRpcError);
    expect((err as CirclesRpcError).code).toBe(-32000);
    await client.play('after'); // the queue is FIFO: once this ran, a retry would have too
    expect(s.fakeWorker.seen.filter((t) => t.script === 'fail:once')).toHaveLength(1);
  });
});

describe('losing the connection', () => {
  it('fails fast while disconnected by default, waits when asked, and reconnects with backoff in order', async () => {
    const s = await stage();
    const client = newClient({
      url: s.url,
      reconnect: { initialDelayMs: 40, maxDelayMs: 160 },
      heartbeatMs: 0,
    });
    const events = recordEvents(client);
    await client.connect();
    const signer = countingFakeSigner(privateKeySigner(randomPrivateKey()));
    const auth = await client.login(signer);
    events.length = 0;

    await s.gw.stop();
    await until(() => (client.state === 'reconnecting' ? true : undefined), 'the client to notice');
    const t0 = Date.now();
    const fast = await client.whoami().catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(CirclesConnectionError);
    expect((fast as CirclesConnectionError).sent).toBe(false);
    expect(Date.now() - t0).toBeLessThan(100);
    const waiting = client.whoami({ whileDisconnected: 'wait', timeoutMs: 15_000 });

    // stay down long enough for several attempts
    await until(
      () => (events.filter((e) => e.name === 'reconnecting').length >= 4 ? true : undefined),
      '4 attempts',
    );
    await s.restart();
    await expect(waiting).resolves.toMatchObject({ authenticated: true, pubkey: await signer.identity() });

    expect(order(events)).toEqual(['close', 'reconnecting', 'open', 'authenticated']);
    const attempts = events.filter((e) => e.name === 'reconnecting').map((e) => e.detail);
    attempts.forEach((a, i) => {
      expect(a.attempt).toBe(i + 1);
      expect(a.delayMs).toBeLessThanOrEqual(Math.min(160, 40 * 2 ** i));
    });
    expect(events[0]!.detail).toMatchObject({ willReconnect: true });
    expect(events.find((e) => e.name === 'open')!.detail).toMatchObject({ reconnected: true });
    expect(client.state).toBe('open');
    expect(client.identity?.authenticated).toBe(true);
    expect(auth.authenticated).toBe(true);
  });

  it('rejects a call the connection lost, saying it had been sent, and does not send it again', async () => {
    const s = await stage();
    const proxy = await proxyTo(s.port);
    const client = newClient({
      url: `ws://127.0.0.1:${proxy.port}/${CIRCLE}`,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    await client.connect();
    const lost = client.play('wait:300:late').catch((e: unknown) => e);
    await until(
      () => (s.fakeWorker.seen.some((t) => t.script === 'wait:300:late') ? true : undefined),
      'the task',
    );
    const reopened = new Promise((r) => client.on('open', r));
    proxy.cut();
    const err = await lost;
    expect(err).toBeInstanceOf(CirclesConnectionError);
    expect((err as CirclesConnectionError).sent).toBe(true);
    await reopened;
    await client.play('wait:400:after'); // outlives the lost one's answer
    expect(s.fakeWorker.seen.filter((t) => t.script === 'wait:300:late')).toHaveLength(1);
  });

  it('notices a connection gone silent by its heartbeat and reconnects', async () => {
    const s = await stage();
    const proxy = await proxyTo(s.port);
    const client = newClient({
      url: `ws://127.0.0.1:${proxy.port}/${CIRCLE}`,
      heartbeatMs: 250,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    const events = recordEvents(client);
    await client.connect();
    await client.login(privateKeySigner(randomPrivateKey()));
    events.length = 0;
    const t0 = Date.now();
    proxy.silence();
    const inFlight = client.whoami().catch((e: unknown) => e);
    await until(() => (events.some((e) => e.name === 'authenticated') ? true : undefined), 're-login', 5000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(200);
    expect(took).toBeLessThan(3000);
    expect(order(events)).toEqual(['close', 'reconnecting', 'open', 'authenticated']);
    expect(events[0]!.detail).toMatchObject({ code: 1006, reason: expect.stringMatching(/heartbeat/) });
    const lost = await inFlight;
    expect(lost).toBeInstanceOf(CirclesConnectionError);
    expect((lost as CirclesConnectionError).sent).toBe(true);
    expect(proxy.accepted()).toBe(2);
    await expect(client.whoami()).resolves.toMatchObject({ authenticated: true });
  });

  it('close() rejects what is pending and never reconnects', async () => {
    const s = await stage();
    const client = newClient({ url: s.url, reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
    const events = recordEvents(client);
    await client.connect();
    const pending = client.play('hang').catch((e: unknown) => e);
    await client.close();
    expect(await pending).toBeInstanceOf(CirclesConnectionError);
    expect((await pending) as CirclesConnectionError).toMatchObject({ sent: true });
    expect(client.state).toBe('closed');
    await expect(client.connect()).rejects.toBeInstanceOf(CirclesConnectionError);
    await expect(client.whoami({ whileDisconnected: 'wait' })).rejects.toBeInstanceOf(CirclesConnectionError);
    await new Promise((r) => setTimeout(r, 100));
    expect(events.map((e) => e.name)).toEqual(['open', 'close']);
  });

  it('gives up after maxAttempts and says so', async () => {
    const s = await stage();
    const client = newClient({
      url: s.url,
      reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 },
    });
    const events = recordEvents(client);
    await client.connect();
    await s.gw.stop();
    await until(() => (client.state === 'reconnecting' ? true : undefined), 'the client to notice');
    const waiting = client.whoami({ whileDisconnected: 'wait' }).catch((e: unknown) => e);
    await until(() => (client.state === 'closed' ? true : undefined), 'giving up', 5000);
    expect(events.filter((e) => e.name === 'reconnecting')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ name: 'error' });
    expect(String(events.at(-1)!.detail.message)).toMatch(/after 3 attempts/);
    const err = await waiting;
    expect(err).toBeInstanceOf(CirclesConnectionError);
    expect(err).toMatchObject({ sent: false, message: expect.stringMatching(/gave up/) });
  });
});

// SPEC §3.7 and §3.8: these need the server's address login and resume tokens.
describe('address login and resume (SPEC §3.7, §3.8)', () => {
  it('resumes through the token after a reconnect, without a new signature', async () => {
    const s = await stage({ sessionSecret: 'a'.repeat(64) } as Partial<ServerOptionsInput>);
    const proxy = await proxyTo(s.port);
    const client = newClient({
      url: `ws://127.0.0.1:${proxy.port}/${CIRCLE}`,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    const events = recordEvents(client);
    await client.connect();
    const signer = countingFakeSigner(privateKeySigner(randomPrivateKey()));
    const first = await client.login(signer);
    expect(first.resume_token).toEqual(expect.any(String));
    expect(signer.signatures()).toBe(1);

    const count = (): number => events.filter((e) => e.name === 'authenticated').length;
    proxy.cut();
    await until(() => (count() === 2 ? true : undefined), 'the resumed login');
    expect(signer.signatures()).toBe(1);
    await expect(client.whoami()).resolves.toMatchObject({ authenticated: true, pubkey: first.pubkey });

    // a server with another secret refuses the token: one fresh signature, then logged in again
    await s.restart({ sessionSecret: 'b'.repeat(64) } as Partial<ServerOptionsInput>);
    await until(() => (count() === 3 ? true : undefined), 'the fresh login');
    expect(signer.signatures()).toBe(2);
    await expect(client.whoami()).resolves.toMatchObject({ authenticated: true, pubkey: first.pubkey });
  });

  it('logs in with an EIP-1193 provider: one eth_requestAccounts, one personal_sign per login', async () => {
    const s = await stage();
    const key = secp256k1.utils.randomPrivateKey();
    const uncompressed = secp256k1.getPublicKey(key, false);
    const address = `0x${Buffer.from(keccak_256(uncompressed.slice(1)).slice(-20)).toString('hex')}`;
    const requests: string[] = [];
    // a wallet as a page sees it: the message arrives hex-encoded, the signature leaves as 0x r‖s‖v
    const provider = {
      request({ method, params }: { method: string; params?: unknown[] }): Promise<unknown> {
        requests.push(method);
        if (method === 'eth_requestAccounts') return Promise.resolve([address]);
        if (method === 'personal_sign') {
          const [data, from] = params as [string, string];
          expect(from).toBe(address);
          const message = Buffer.from(data.slice(2), 'hex').toString('utf8');
          const sig = secp256k1.sign(personalMessageDigest(message), key);
          return Promise.resolve(`0x${sig.toCompactHex()}${(27 + sig.recovery).toString(16)}`);
        }
        return Promise.reject(new Error(`unexpected ${method}`));
      },
    };
    const client = newClient({ url: s.url });
    await client.connect();
    const signer = eip1193Signer(provider);
    expect(signer.kind).toBe('address');
    const auth = await client.login(signer);
    expect(requests).toEqual(['eth_requestAccounts', 'personal_sign']);
    expect(auth.address.toLowerCase()).toBe(address);
    expect(auth.pubkey).toBe(Buffer.from(secp256k1.getPublicKey(key, true)).toString('hex'));
    // a second login asks the wallet to sign once more, and for the accounts no more
    await client.login(signer);
    expect(requests).toEqual(['eth_requestAccounts', 'personal_sign', 'personal_sign']);
    await expect(client.whoami()).resolves.toMatchObject({ authenticated: true, address: auth.address });
  });

  it('logs in with an ethers Wallet through messageSigner', async () => {
    const s = await stage();
    const wallet = new Wallet(`0x${randomPrivateKey()}`);
    const client = newClient({ url: s.url });
    await client.connect();
    const auth = await client.login(messageSigner(wallet));
    expect(auth.address).toBe(wallet.address);
    expect(auth.pubkey).toBe(wallet.signingKey.compressedPublicKey.slice(2));
  });
});

describe('in a browser', () => {
  /** The client as a web app's bundler sees it: esbuild, platform browser, honouring `browser`. */
  const bundle = buildSync({
    entryPoints: [path.join(REPO_ROOT, 'client/index.ts')],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'circlesClient',
    write: false,
    logLevel: 'silent',
  }).outputFiles[0]!.text;

  /** A context with nothing but what the brief allows a browser page to have for loading. */
  function browserContext(extra: Record<string, unknown> = {}): vm.Context {
    const ctx = vm.createContext({
      WebSocket: class NoNetwork {},
      crypto: {
        getRandomValues: <T extends ArrayBufferView>(a: T): T => webcrypto.getRandomValues(a as never),
      },
      TextEncoder,
      ...extra,
    });
    vm.runInContext(bundle, ctx, { filename: 'circles-client.bundle.js' });
    return ctx;
  }

  it('has no Node-only reference: ws, Buffer, process, node: modules', () => {
    expect(bundle).not.toMatch(/require\(["']ws["']\)/);
    expect(bundle).not.toMatch(/\bBuffer\b/);
    expect(bundle).not.toMatch(/\bprocess\./);
    expect(bundle).not.toMatch(/["']node:/);
    expect(bundle).not.toMatch(/\brequire\(["'][^"']+["']\)/);
  });

  it('loads and signs with only WebSocket, crypto.getRandomValues and TextEncoder', async () => {
    const ctx = browserContext();
    const signed = (await vm.runInContext(
      `(async () => {
        const key = circlesClient.randomPrivateKey();
        const signer = circlesClient.privateKeySigner(key);
        return { key, pubkey: await signer.identity(), signature: await signer.signMessage('nonce_1_ab') };
      })()`,
      ctx,
    )) as { key: string; pubkey: string; signature: string };
    expect(signed.key).toMatch(/^[0-9a-f]{64}$/);
    // checked outside the bundle: recovers to the key's public key
    const sig = secp256k1.Signature.fromCompact(signed.signature.slice(2, 130)).addRecoveryBit(
      parseInt(signed.signature.slice(130), 16) - 27,
    );
    const recovered = sig.recoverPublicKey(personalMessageDigest('nonce_1_ab')).toHex(true);
    expect(recovered).toBe(signed.pubkey);
    expect(signed.pubkey).toBe(Buffer.from(secp256k1.getPublicKey(signed.key, true)).toString('hex'));
  });

  it('connects, logs in and calls through the WebSocket the page gives it', async () => {
    const s = await stage();
    const ctx = browserContext({ WebSocket, setTimeout, clearTimeout, setInterval, clearInterval });
    const run = vm.runInContext(
      `(async (url) => {
        const client = new circlesClient.CirclesClient({ url });
        try {
          await client.connect();
          const auth = await client.login(circlesClient.privateKeySigner(circlesClient.randomPrivateKey()));
          const played = await client.play('hello');
          return { authenticated: auth.authenticated, output: played.output, pubkey: auth.pubkey };
        } finally {
          await client.close();
        }
      })`,
      ctx,
    ) as (url: string) => Promise<{ authenticated: boolean; output: string; pubkey: string }>;
    const r = await run(s.url);
    expect(r.authenticated).toBe(true);
    expect(r.output).toBe(`echo hello as ${r.pubkey}`);
  });
});
