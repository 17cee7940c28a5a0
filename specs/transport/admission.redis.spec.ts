import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import { createVerifierPool, type SignatureVerifier } from '../../auth/verify-pool';
import { BUSY } from '../../transport/newcomer-lane';
import { startGateway, TEST_TRANSPORTS, type TestGateway } from '../support/gateway';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';

// Storm admission (issue 13 item 5): upgrades and logins in progress are bounded; the rest
// wait briefly or are refused with 503 / -32005, and a refusal is not a failed login.

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';

let redis: TestRedis;
const pool = createVerifierPool(1);
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await pool.close();
  await redis.stop();
});

/** A fake verifier: the real pool behind a gate the test opens (checks stay pending until then). */
function gatedFakeVerifier(real: SignatureVerifier): { verifier: SignatureVerifier; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let pending = 0;
  return {
    open: () => open(),
    verifier: {
      async verify(messages, signature, pubkey) {
        pending++;
        try {
          await gate;
          return await real.verify(messages, signature, pubkey);
        } finally {
          pending--;
        }
      },
      async recoverAddress(messages, signature, address) {
        pending++;
        try {
          await gate;
          return await real.recoverAddress(messages, signature, address);
        } finally {
          pending--;
        }
      },
      get pending() {
        return pending;
      },
      close: async () => undefined,
    },
  };
}

/** fetch_nonce, sign; resolves with the authenticate request's answer promise. */
async function login(c: RpcClient, wallet: Pick<Wallet, 'signingKey' | 'signMessage'>) {
  const pubkey = wallet.signingKey.compressedPublicKey;
  const { nonce } = await c.call<{ nonce: string }>('fetch_nonce', [pubkey]);
  return c.request('authenticate', [pubkey, await wallet.signMessage(nonce)]);
}

/** Status line and headers of one raw upgrade request, written on an open TCP socket. */
function upgradeAnswer(socket: net.Socket): Promise<{ status: number; head: string; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`no answer to an upgrade: ${JSON.stringify(text)}`)),
      8000,
    );
    socket.on('data', (d) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      // A refusal is written whole (headers and body) in one write.
      resolve({ status: Number(text.split(' ')[1]), head: text.slice(0, end).toLowerCase(), text });
    });
    socket.on('error', reject);
  });
}

describe.each(TEST_TRANSPORTS)('%s transport: storm admission', (transport) => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('answers -32005 to a login beyond --max-handshakes being verified; it is not a failure', async () => {
    const gated = gatedFakeVerifier(pool);
    gw = await startGateway(
      redis.url,
      redis.namespace(),
      { transport, circles: [CIRCLE], maxHandshakes: 1, maxFailedAuth: 1 },
      { verifier: gated.verifier },
    );
    // One at a time: with --max-handshakes 1 a second upgrade waiting at once is refused too.
    const a = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    const b = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    const [wa, wb] = [Wallet.createRandom(), Wallet.createRandom()];
    const first = login(a, wa);
    await new Promise((r) => setTimeout(r, 50)); // a's check is now pending behind the gate
    const refused = await login(b, wb);
    expect(refused.error).toMatchObject({ code: -32005, message: 'Too Many Requests' });
    expect(JSON.stringify(refused.error?.data)).toContain('1 logins in progress');
    gated.open();
    expect((await first).result).toMatchObject({ authenticated: true });
    // With --max-failed-auth 1 a counted failure would have closed b (1008): it logs in now.
    expect((await login(b, wb)).result).toMatchObject({ authenticated: true });
    const text = await gw.server.metrics.registry.getSingleMetricAsString('circles_auth_total');
    expect(text).not.toMatch(/outcome="failure"/);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses upgrades beyond the waiting bound with 503 and Retry-After, serves the rest, leaves none hanging', async () => {
    gw = await startGateway(redis.url, redis.namespace(), { transport, circles: [CIRCLE], maxHandshakes: 2 });
    const { port } = gw.server;
    const sockets = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect(port, '127.0.0.1', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100)); // the server has accepted them all
    const answers = sockets.map(upgradeAnswer);
    // Every request in one burst, and the loop (the server runs in this process) held busy
    // until all have arrived: the server reads them in one poll phase, as under a storm.
    for (const s of sockets)
      s.write(
        `GET /${CIRCLE} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    const until = performance.now() + 300;
    while (performance.now() < until);
    const got = await Promise.all(answers);
    sockets.forEach((s) => s.destroy());
    const statuses = got.map((g) => g.status);
    expect(statuses.every((s) => s === 101 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 101).length).toBeGreaterThanOrEqual(2);
    const refused = got.filter((g) => g.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.head).toContain('retry-after: 1');
      expect(r.text).toContain(JSON.stringify({ error: BUSY }));
    }
    const text = await gw.server.metrics.registry.getSingleMetricAsString('circles_upgrades_rejected_total');
    expect(text).toContain(`status="503"} ${refused.length}`);
    // Once the burst is over, a newcomer gets in.
    const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    expect(await c.call('whoami')).toMatchObject({ authenticated: false, circle: CIRCLE });
    await c.close();
  });

  it('keeps the order of a newcomer’s pipelined burst, and answers all of it', async () => {
    gw = await startGateway(redis.url, redis.namespace(), { transport, circles: [CIRCLE] });
    const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    const frames = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: i + 1,
        method: i % 2 ? 'whoami' : 'fetch_nonce',
        params: i % 2 ? undefined : [CIRCLE],
      }),
    );
    for (const f of frames) c.ws.send(f);
    await until(() => c.received.length >= 50, 'all 50 answers', 5000, 5);
    const ids = c.received.flat().map((m) => (m as { id: number }).id);
    expect(ids).toEqual(frames.map((_, i) => i + 1));
    await c.close();
  });
});
