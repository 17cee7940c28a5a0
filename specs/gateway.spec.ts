import { Wallet } from 'ethers';
import { createClient } from 'redis';
import { randomBytes } from 'node:crypto';
import { createVerifierPool } from '../auth/verify-pool';
import { keyBuilder } from '../queue/keys';
import { startGateway, TEST_TRANSPORTS, type TestGateway } from './support/gateway';
import { startRedis, type TestRedis } from './support/redis-server';
import { RpcClient } from './support/rpc-client';
import { until } from './support/until';
import { startTestWorker, type Answer, type TestWorker } from './support/test-worker';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const OTHER_CIRCLE = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';

/** ethers' createRandom derives an HD wallet (slow); a bare random key is all we need. */
const randomWallet = (): Wallet => new Wallet(`0x${randomBytes(32).toString('hex')}`);

let redis: TestRedis;
const verifier = createVerifierPool(2);
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await verifier.close();
  await redis.stop();
});

/** Echo worker: output names the script, caller and circle; `fail:` scripts error; `hang` never answers. */
const echo = (t: Record<string, string>): Answer =>
  t.script === 'hang'
    ? { status: 'none' }
    : t.script!.startsWith('fail:')
      ? { status: 'error', error: `boom (line 1, position 1): ${t.script}` }
      : { status: 'completed', output: `ran ${t.script} as ${t.callerId} in ${t.contextId}` };

async function login(
  client: RpcClient,
  wallet: Wallet | ReturnType<typeof Wallet.createRandom>,
): Promise<unknown> {
  const { nonce } = await client.call('fetch_nonce', { pubkey: wallet.signingKey.compressedPublicKey });
  return client.call('authenticate', [
    wallet.signingKey.compressedPublicKey,
    await wallet.signMessage(nonce),
  ]);
}

// One suite, every transport this Node can serve with (uWS only where its binary loads).
describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  const gateway: typeof startGateway = (url, ns, options = {}, extras = {}) =>
    startGateway(url, ns, { transport, ...options }, extras);

  describe('gateway over loopback', () => {
    let gw: TestGateway;
    let worker: TestWorker;
    let now = 1_800_000_000;
    beforeAll(async () => {
      const ns = redis.namespace();
      gw = await gateway(
        redis.url,
        ns,
        { circles: [CIRCLE, OTHER_CIRCLE], playTimeoutMs: 1500, maxInflight: 4 },
        {
          verifier,
          now: () => now,
        },
      );
      worker = await startTestWorker(redis.url, ns, CIRCLE, echo);
    });
    afterAll(async () => {
      await worker.stop();
      await gw.stop();
    });

    describe('HTTP routes', () => {
      it('GET /health answers 200 with the backend', async () => {
        const r = await fetch(`${gw.http}/health`);
        expect(r.status).toBe(200);
        expect(await r.json()).toMatchObject({ status: 'ok' });
      });

      it('GET /openrpc.json serves the contract', async () => {
        const r = await fetch(`${gw.http}/openrpc.json`);
        expect(r.status).toBe(200);
        expect(((await r.json()) as { openrpc: string }).openrpc).toBe('1.2.6');
      });

      it('GET /metrics is Prometheus text', async () => {
        const r = await fetch(`${gw.http}/metrics`);
        expect(r.headers.get('content-type')).toContain('text/plain');
        expect(await r.text()).toContain('circles_connections_open');
      });

      it.each([
        ['not-a-key', 400],
        ['%E0%A4%A', 400], // malformed percent-encoding must not throw inside uWS
        [`05${CIRCLE.slice(2)}`, 400],
        [`02${'f'.repeat(64)}`, 400],
        ['0289e9e3a38b23b8b2e2cc3a70b7c1c9bd1e1c8c17e0a1e3e7c9e2a1f3b5d7c9e1', 400],
        [randomWallet().signingKey.compressedPublicKey.slice(2), 404],
        [CIRCLE, 426],
        [`0x${CIRCLE.toUpperCase()}`, 426],
      ])('plain GET /%s → %d', async (path, status) => {
        const r = await fetch(`${gw.http}/${path}`);
        if (status === 400 && r.status === 404) throw new Error(`${path} is a valid key; fix the fixture`);
        expect(r.status).toBe(status);
        expect(await r.json()).toHaveProperty('error');
      });

      it.each([
        ['not-a-key', 400],
        ['%E0%A4%A', 400],
        [randomWallet().signingKey.compressedPublicKey, 404],
      ])('upgrade to /%s is refused with %d before the handshake', async (path, status) => {
        await expect(RpcClient.connect(`${gw.url}/${path}`)).rejects.toThrow(`HTTP ${status}`);
      });

      it('accepts uncompressed and 0x keys for the same circle', async () => {
        const uncompressed =
          '0x044f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa385b6b1b8ead809ca67454d9683fcf2ba03456d6fe2c4abe2b07f0fbdbb2f1c1';
        const c = await RpcClient.connect(`${gw.url}/${uncompressed}`);
        expect((await c.call('whoami')).circle).toBe(CIRCLE);
        await c.close();
      });
    });

    describe('authentication', () => {
      it('fetch_nonce → authenticate with an ethers signature → play as that key', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const wallet = randomWallet();
        const pk = wallet.signingKey.compressedPublicKey.slice(2);
        const nonce = await c.call('fetch_nonce', [wallet.signingKey.publicKey]); // uncompressed works too
        expect(nonce.nonce).toMatch(/^nonce_1800000000_[0-9a-f]{32,}$/);
        expect(nonce.expires_at).toBe(now + 300);
        expect(
          await c.call('authenticate', {
            credentials: { pubkey: pk, signature: await wallet.signMessage(nonce.nonce) },
          }),
        ).toMatchObject({
          authenticated: true,
        });
        expect(await c.call('whoami')).toEqual({
          authenticated: true,
          pubkey: pk,
          address: wallet.address,
          circle: CIRCLE,
        });
        const played = await c.call('play', { script: 'hello()' });
        expect(played.output).toBe(`ran hello() as ${pk} in ${CIRCLE}`);
        const task = worker.seen.find((t) => t.taskId === played.task_id)!;
        expect(task).toMatchObject({ script: 'hello()', callerId: pk, contextId: CIRCLE, status: 'pending' });
        expect(task.replyToQueue).toMatch(new RegExp(`^${gw.namespace}rhailib:reply:`));
        expect(Date.parse(task.createdAt!)).not.toBeNaN();
        await c.close();
      });

      it('accepts all four authenticate param forms and 64-byte signatures', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const forms = [
          (s: string) => ({ pubkey: pk, signature: s }),
          (s: string) => ({ credentials: { pubkey: pk, signature: s } }),
          (s: string) => [pk, s],
          (s: string) => [{ pubkey: pk, signature: s.slice(0, 130) }], // r‖s only
        ];
        for (const form of forms) {
          const { nonce } = await c.call('fetch_nonce', { pubkey: pk });
          expect(await c.call('authenticate', form(await w.signMessage(nonce)))).toMatchObject({
            authenticated: true,
          });
        }
        await c.close();
      });

      const expectCode = async (p: Promise<unknown>, code: number): Promise<void> => {
        await expect(p).rejects.toMatchObject({ code });
      };

      it('a nonce is single use', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await c.call('fetch_nonce', [pk]);
        const sig = await w.signMessage(nonce);
        await c.call('authenticate', [pk, sig]);
        await expectCode(c.call('authenticate', [pk, sig]), -32002);
        await c.close();
      });

      it('a nonce from another session is refused', async () => {
        const a = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const b = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await a.call('fetch_nonce', [pk]);
        await expectCode(b.call('authenticate', [pk, await w.signMessage(nonce)]), -32002);
        // and the session that fetched it can still use it
        expect(await a.call('authenticate', [pk, await w.signMessage(nonce)])).toMatchObject({
          authenticated: true,
        });
        await Promise.all([a.close(), b.close()]);
      });

      it('an expired nonce is refused', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await c.call('fetch_nonce', [pk]);
        now += 301;
        await expectCode(c.call('authenticate', [pk, await w.signMessage(nonce)]), -32002);
        await c.close();
      });

      it('a signature by another key, or for another pubkey, is refused and consumes the nonce', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const mallory = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const { nonce } = await c.call('fetch_nonce', [pk]);
        await expectCode(c.call('authenticate', [pk, await mallory.signMessage(nonce)]), -32002);
        await expectCode(c.call('authenticate', [pk, await w.signMessage(nonce)]), -32002); // consumed by the failure
        const fresh = await c.call('fetch_nonce', [pk]);
        await expectCode(
          c.call('authenticate', [mallory.signingKey.compressedPublicKey, await w.signMessage(fresh.nonce)]),
          -32002,
        );
        await c.close();
      });

      it('malformed keys and signatures are -32602 naming the field', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        await expect(c.call('fetch_nonce', ['nope'])).rejects.toMatchObject({
          code: -32602,
          data: { issues: [{ path: 'pubkey' }] },
        });
        await expect(c.call('authenticate', [CIRCLE, 'xyz'])).rejects.toMatchObject({
          code: -32602,
          data: { issues: [{ path: 'signature' }] },
        });
        await c.close();
      });

      it('closes the session with 1008 after 5 failed attempts', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const badSig = await w.signMessage('not the nonce');
        for (let i = 0; i < 4; i++) {
          await c.call('fetch_nonce', [pk]);
          await expectCode(c.call('authenticate', [pk, badSig]), -32002);
        }
        await c.call('fetch_nonce', [pk]);
        await expectCode(c.call('authenticate', [pk, badSig]), -32002);
        expect((await c.closed).code).toBe(1008);
      });

      it('keeps at most 8 nonces per session (oldest dropped)', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const w = randomWallet();
        const pk = w.signingKey.compressedPublicKey;
        const nonces: string[] = [];
        for (let i = 0; i < 9; i++) nonces.push((await c.call('fetch_nonce', [pk])).nonce);
        // the newest works; afterwards the oldest is gone (dropped when the 9th was issued)
        expect(await c.call('authenticate', [pk, await w.signMessage(nonces[8]!)])).toMatchObject({
          authenticated: true,
        });
        await expectCode(c.call('authenticate', [pk, await w.signMessage(nonces[0]!)]), -32002);
        await c.close();
      });
    });

    describe('play', () => {
      it('reports script errors as -32000 with the task id and engine message', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const r = await c.request('play', ['fail: x']);
        expect(r.error).toMatchObject({
          code: -32000,
          message: 'Execution Error',
          data: { error: expect.stringContaining('boom') },
        });
        expect(r.error!.data.task_id).toMatch(/^[0-9a-f-]{36}$/);
        await c.close();
      });

      it('is anonymous without authentication (no --auth)', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        expect((await c.call('play', ['x'])).output).toBe(`ran x as anonymous in ${CIRCLE}`);
        await c.close();
      });

      it('times out with -32003 and the task id; the task stays queued', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const r = await c.request('play', ['hang']);
        expect(r.error).toMatchObject({ code: -32003, data: { task_id: expect.any(String) } });
        const client = createClient({ url: redis.url });
        await client.connect();
        const hash = await client.hGetAll(keyBuilder(gw.namespace).task(r.error!.data.task_id));
        expect(hash.script).toBe('hang');
        expect(await client.ttl(keyBuilder(gw.namespace).task(r.error!.data.task_id))).toBeGreaterThan(60);
        client.destroy();
        await c.close();
      });

      it('refuses more than --max-inflight plays with -32005', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const hanging = [1, 2, 3, 4].map(() => c.request('play', ['hang']));
        await expect(c.call('play', ['one too many'])).rejects.toMatchObject({ code: -32005 });
        expect((await c.call('whoami')).authenticated).toBe(false); // other methods still answer
        await Promise.all(hanging);
        await c.close();
      });

      it('limits the request rate per session with -32005 when --max-rate is set', async () => {
        const limited = await gateway(redis.url, gw.namespace, { maxRequestsPerSecond: 20 }, { verifier });
        const c = await RpcClient.connect(`${limited.url}/${CIRCLE}`);
        const other = await RpcClient.connect(`${limited.url}/${CIRCLE}`);
        const burst = (await c.sendRaw(
          JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'whoami' }))),
        )) as { error?: { code: number } }[];
        const refused = burst.filter((r) => r.error?.code === -32005).length;
        expect(burst.length - refused).toBeGreaterThanOrEqual(20);
        expect(burst.length - refused).toBeLessThanOrEqual(22);
        // the bucket is per session, and refills
        expect((await other.call('whoami')).circle).toBe(CIRCLE);
        await until(
          async () => (await c.request('whoami')).result !== undefined,
          'the bucket to refill',
          3000,
          20,
        );
        await Promise.all([c.close(), other.close()]);
        await limited.stop();
      });

      it('answers 100 sockets × 20 pipelined plays each with their own results', async () => {
        const wide = await gateway(
          redis.url,
          gw.namespace,
          { circles: [CIRCLE], maxInflight: 64 },
          { verifier },
        );
        const clients = await Promise.all(
          Array.from({ length: 100 }, () => RpcClient.connect(`${wide.url}/${CIRCLE}`)),
        );
        const results = await Promise.all(
          clients.map((c, ci) =>
            Promise.all(
              Array.from({ length: 20 }, (_, i) => c.call('play', [`s${ci}-${i}`]).then((r) => r.output)),
            ),
          ),
        );
        results.forEach((outs, ci) =>
          outs.forEach((out, i) => expect(out).toBe(`ran s${ci}-${i} as anonymous in ${CIRCLE}`)),
        );
        await Promise.all(clients.map((c) => c.close()));
        await wide.stop();
      });

      it('answers a batch of plays and whoami as one array', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const reply = await c.sendRaw(
          JSON.stringify([
            { jsonrpc: '2.0', id: 'p1', method: 'play', params: ['b1'] },
            { jsonrpc: '2.0', id: 'w', method: 'whoami' },
            { jsonrpc: '2.0', method: 'play', params: ['notified'] },
            { jsonrpc: '2.0', id: 'p2', method: 'play', params: { script: 'b2' } },
          ]),
        );
        expect(reply).toEqual([
          {
            jsonrpc: '2.0',
            id: 'p1',
            result: { output: `ran b1 as anonymous in ${CIRCLE}`, task_id: expect.any(String) },
          },
          { jsonrpc: '2.0', id: 'w', result: expect.objectContaining({ authenticated: false }) },
          {
            jsonrpc: '2.0',
            id: 'p2',
            result: { output: `ran b2 as anonymous in ${CIRCLE}`, task_id: expect.any(String) },
          },
        ]);
        await c.close();
      });
    });

    describe('frames', () => {
      it('closes 1003 on a binary frame', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
        expect((await c.closed).code).toBe(1003);
      });

      it('closes 1009 on a frame over --max-frame', async () => {
        const small = await gateway(redis.url, gw.namespace, { maxFrameBytes: 1024 }, { verifier });
        const c = await RpcClient.connect(`${small.url}/${CIRCLE}`);
        c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'play', params: ['x'.repeat(1500)] }));
        expect((await c.closed).code).toBe(1009);
        // far over the limit: cut before it is buffered (1006 or 1009, never a crash)
        const big = await RpcClient.connect(`${small.url}/${CIRCLE}`);
        big.ws.send('x'.repeat(100_000));
        expect([1006, 1009]).toContain((await big.closed).code);
        // the server is fine afterwards
        const d = await RpcClient.connect(`${small.url}/${CIRCLE}`);
        expect((await d.call('whoami')).circle).toBe(CIRCLE);
        await d.close();
        await small.stop();
      });

      it('closes a reader that stops reading once its send buffer is full, and counts it', async () => {
        const tight = await gateway(
          redis.url,
          gw.namespace,
          { maxBackpressureBytes: 64 * 1024 },
          { verifier },
        );
        const c = await RpcClient.connect(`${tight.url}/${CIRCLE}`);
        const socket = (c.ws as unknown as { _socket: { pause(): void } })._socket;
        socket.pause(); // the peer stops reading; the server's answers pile up
        const ask = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' });
        // bursts of 100 requests (each answer is ~5 KB) until the server gives up on the socket
        await until(
          async () => {
            for (let j = 0; j < 100; j++) c.ws.send(ask);
            const text = await (await fetch(`${tight.http}/metrics`)).text();
            return /circles_sockets_closed_total\{reason="backpressure"\} 1/.test(text);
          },
          'the backpressure close',
          15_000,
          5,
        );
        // other sessions are unaffected
        const d = await RpcClient.connect(`${tight.url}/${CIRCLE}`);
        expect((await d.call('whoami')).circle).toBe(CIRCLE);
        await d.close();
        c.ws.terminate();
        await tight.stop();
      });

      it('drops a peer that stops answering pings after the idle timeout', async () => {
        const idle = await gateway(redis.url, gw.namespace, { idleTimeoutSeconds: 8 }, { verifier });
        const alive = await RpcClient.connect(`${idle.url}/${CIRCLE}`); // answers pings (ws does)
        const dead = await RpcClient.connect(`${idle.url}/${CIRCLE}`);
        (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
        let gauge = '';
        await until(
          async () => {
            const text = await (await fetch(`${idle.http}/metrics`)).text();
            gauge = text.match(/circles_connections_open (\d+)/)![1]!;
            return gauge === '1';
          },
          () => `one connection open (last: ${gauge})`,
          25_000,
          250,
        );
        expect((await alive.call('whoami')).circle).toBe(CIRCLE);
        await alive.close();
        dead.ws.terminate();
        await idle.stop();
      }, 40_000);

      it('counts plays and connections in /metrics', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        await login(c, randomWallet());
        await c.call('play', ['counted']);
        const text = await (await fetch(`${gw.http}/metrics`)).text();
        expect(text).toMatch(/circles_plays_total\{outcome="completed"\} [1-9]/);
        expect(text).toMatch(/circles_play_duration_seconds_count [1-9]/);
        expect(text).toMatch(/circles_auth_total\{outcome="success"\} [1-9]/);
        expect(text).toMatch(/circles_connections_open [1-9]/);
        await c.close();
      });

      it('answers garbage with -32700 and keeps the session', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        expect(await c.sendRaw('{"jsonrpc": "2.0", "method": ')).toMatchObject({
          id: null,
          error: { code: -32700 },
        });
        expect(await c.sendRaw('\u0000\uffff')).toMatchObject({ error: { code: -32700 } });
        expect((await c.call('whoami')).circle).toBe(CIRCLE);
        await c.close();
      });

      it('survives hostile frames: random bytes, deep nesting, huge batches, odd params', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const seed = randomBytes(4).readUInt32LE(0);
        let x = seed || 1;
        const rand = (n: number): number => {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          return (x >>> 0) % n;
        };
        const pieces = [
          '{',
          '}',
          '[',
          ']',
          '"',
          ':',
          ',',
          'null',
          '1e999',
          '-0',
          '"jsonrpc"',
          '"2.0"',
          '"method"',
          '"id"',
          '"params"',
          '"play"',
          '"whoami"',
          '\\u0000',
          '\u{1F600}',
          ' ',
        ];
        const frames: string[] = [
          '['.repeat(100_000) + ']'.repeat(100_000),
          `[${Array.from({ length: 2000 }, (_, i) => `{"jsonrpc":"2.0","id":"b${i}","method":"whoami"}`).join(',')}]`,
          '{"jsonrpc":"2.0","id":"h1","method":"play","params":{"script":{"__proto__":{"x":1}}}}',
          '{"jsonrpc":"2.0","id":"h2","method":"authenticate","params":{"constructor":{"prototype":1}}}',
          '{"jsonrpc":"2.0","id":"h3","method":"__proto__"}',
          '{"jsonrpc":"2.0","id":"h4","method":"fetch_nonce","params":["' + 'f'.repeat(500_000) + '"]}',
        ];
        for (let i = 0; i < 300; i++)
          frames.push(Array.from({ length: 1 + rand(40) }, () => pieces[rand(pieces.length)]).join(''));
        for (const f of frames) c.ws.send(f);
        // (string ids above: numeric ones would be taken for the client's own next request ids)
        // every frame is answered or ignored without a crash, and the session still works afterwards
        expect((await c.call('whoami')).circle).toBe(CIRCLE);
        expect(c.ws.readyState).toBe(c.ws.OPEN);
        const d = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        expect((await d.call('whoami')).circle).toBe(CIRCLE);
        await Promise.all([c.close(), d.close()]);
      }, 30_000);

      it('rpc.discover returns the OpenRPC document', async () => {
        const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
        const doc = await c.call('rpc.discover');
        expect(doc.methods.map((m: { name: string }) => m.name)).toContain('rpc.discover');
        await c.close();
      });
    });
  });

  describe('gateway with --auth', () => {
    it('refuses play before authentication with -32001, then runs it', async () => {
      const ns = redis.namespace();
      const gw = await gateway(redis.url, ns, { auth: true }, { verifier });
      const worker = await startTestWorker(redis.url, ns, CIRCLE, echo);
      const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      await expect(c.call('play', ['x'])).rejects.toMatchObject({
        code: -32001,
        message: 'Authentication Required',
      });
      const w = randomWallet();
      await login(c, w);
      expect((await c.call('play', ['x'])).output).toBe(
        `ran x as ${w.signingKey.compressedPublicKey.slice(2)} in ${CIRCLE}`,
      );
      await c.close();
      await worker.stop();
      await gw.stop();
    });
  });

  describe('authentication stays off the event loop', () => {
    it("a burst of logins does not stall another session's whoami", async () => {
      // the slow reference implementation (≈ 1.5 ms per recovery) makes the burst heavy enough
      // that verifying on the event loop would visibly stall the bystander
      const slowVerifier = createVerifierPool(2, 'reference');
      const gw = await gateway(redis.url, redis.namespace(), {}, { verifier: slowVerifier });
      const bystander = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      // a session keeps at most 8 nonces, so 4 logins per storm session
      const stormers = await Promise.all(
        Array.from({ length: 50 }, () => RpcClient.connect(`${gw.url}/${CIRCLE}`)),
      );
      const wallets = Array.from({ length: 200 }, () => randomWallet());
      // nonces first, signed on the client side, so the burst itself is pure verification
      const signed = await Promise.all(
        wallets.map(async (w, i) => {
          const c = stormers[i % stormers.length]!;
          const { nonce } = await c.call('fetch_nonce', [w.signingKey.compressedPublicKey]);
          return { c, pk: w.signingKey.compressedPublicKey, sig: await w.signMessage(nonce) };
        }),
      );
      const started = performance.now();
      let stormDone = false;
      const storm = Promise.all(signed.map((s) => s.c.call('authenticate', [s.pk, s.sig]))).then((r) => {
        stormDone = true;
        return r;
      });
      const latencies: number[] = [];
      while (!stormDone && latencies.length < 10_000) {
        const t = performance.now();
        await bystander.call('whoami');
        latencies.push(performance.now() - t);
      }
      const results = await storm;
      const stormMs = performance.now() - started;
      expect(results.every((r) => r.authenticated === true)).toBe(true);
      // 200 recoveries cost ≈ 300 ms of CPU; on the event loop one whoami would wait for
      // them all. Off the loop, the bystander keeps getting answers throughout the storm.
      expect(latencies.length).toBeGreaterThan(5);
      const p99 = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)]!;
      expect(p99).toBeLessThan(stormMs / 3);
      await Promise.all([bystander, ...stormers].map((c) => c.close()));
      await gw.stop();
      await slowVerifier.close();
    });
  });

  describe('Redis outage', () => {
    it('answers -32004 and /health 503 while Redis is down, and recovers by itself', async () => {
      const own = await startRedis();
      const ns = own.namespace();
      const gw = await gateway(own.url, ns, {}, { verifier });
      let worker = await startTestWorker(own.url, ns, CIRCLE, echo);
      const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      expect((await c.call('play', ['before'])).output).toContain('ran before');
      await worker.stop();
      await own.stop();
      const t = performance.now();
      await expect(c.call('play', ['during'])).rejects.toMatchObject({ code: -32004 });
      expect(performance.now() - t).toBeLessThan(1000); // at once, not after a timeout
      expect((await fetch(`${gw.http}/health`)).status).toBe(503);
      await own.start();
      worker = await startTestWorker(own.url, ns, CIRCLE, echo);
      const output = await until(
        () =>
          c.call('play', ['after']).then(
            (r) => (r.output as string) || undefined,
            () => undefined,
          ),
        'a play to succeed after the restart',
        10_000,
        100,
      );
      expect(output).toContain('ran after');
      expect((await fetch(`${gw.http}/health`)).status).toBe(200);
      await c.close();
      await worker.stop();
      await gw.stop();
      await own.stop();
    });
  });

  describe('WebSocket close on server stop', () => {
    it('closes sessions with 1001 after draining in-flight plays', async () => {
      const ns = redis.namespace();
      const gw = await gateway(redis.url, ns, {}, { verifier });
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const worker = await startTestWorker(redis.url, ns, CIRCLE, async (t) => {
        await gate;
        return echo(t);
      });
      const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      const inflight = c.call('play', ['slow']);
      await new Promise((r) => setTimeout(r, 100));
      const stopping = gw.stop();
      await expect(RpcClient.connect(`${gw.url}/${CIRCLE}`)).rejects.toBeDefined();
      release();
      expect((await inflight).output).toContain('ran slow');
      expect((await c.closed).code).toBe(1001);
      await stopping;
      await worker.stop();
    });
  });
});
