import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { chooseTransport } from '../../transport/start-listener';
import { loadNativeUws } from '../../transport/uws';
import { startWorker, type WorkerHandle } from '../../worker';
import { silentLogger } from '../../log';
import { startGateway, TEST_TRANSPORTS, type TestGateway } from '../support/gateway';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';
import { selfSignedCert } from '../support/tls';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

/** Opens a socket and resolves with the close code the server sends (1006: dropped without one). */
function closeCodeAfter(url: string, send: (ws: WebSocket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => send(ws));
    ws.once('error', () => undefined);
    ws.once('close', (code) => resolve(code));
    setTimeout(() => reject(new Error('no close within 5 s')), 5000).unref();
  });
}

describe.each(TEST_TRANSPORTS)('%s transport', (transport) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(redis.url, redis.namespace(), {
      circles: [CIRCLE],
      transport,
      maxFrameBytes: 1024,
    });
  });
  afterAll(() => gw.stop());

  it('is named by the handle, /health and /metrics', async () => {
    expect(gw.server.transport).toBe(transport);
    expect(await (await fetch(`${gw.http}/health`)).json()).toMatchObject({ transport });
    expect(await (await fetch(`${gw.http}/metrics`)).text()).toContain(
      `circles_transport_info{transport="${transport}"} 1`,
    );
  });

  it('refuses a second listener on a port in use (no port sharing)', async () => {
    for (const other of TEST_TRANSPORTS) {
      await expect(
        startGateway(redis.url, redis.namespace(), { port: gw.server.port, transport: other }),
      ).rejects.toThrow(`cannot listen on 127.0.0.1:${gw.server.port}`);
    }
    // the first one still serves
    const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    expect((await c.call('whoami')).circle).toBe(CIRCLE);
    await c.close();
  });

  it('answers HEAD on the probes without a body', async () => {
    for (const route of ['/livez', '/health', '/readyz']) {
      const r = await fetch(`${gw.http}${route}`, { method: 'HEAD' });
      expect([200, 503]).toContain(r.status);
      expect(await r.text()).toBe('');
      expect(Number(r.headers.get('content-length'))).toBeGreaterThan(0);
    }
    expect((await fetch(`${gw.http}/livez`, { method: 'HEAD' })).status).toBe(200);
  });

  it('answers other methods with 404, and keeps the query string out of routing', async () => {
    expect((await fetch(`${gw.http}/health`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${gw.http}/livez?verbose=1`)).status).toBe(200);
  });

  it('closes 1009 on a frame just over --max-frame', async () => {
    expect(await closeCodeAfter(`${gw.url}/${CIRCLE}`, (ws) => ws.send('x'.repeat(1025)))).toBe(1009);
  });

  if (transport === 'ws') {
    // uWS cuts these connections without a close frame (1006): see the README's transport notes.
    it('closes 1009 on a frame far over --max-frame without buffering it', async () => {
      expect(await closeCodeAfter(`${gw.url}/${CIRCLE}`, (ws) => ws.send('x'.repeat(64 * 1024)))).toBe(1009);
    });

    it('closes 1007 on invalid UTF-8 in a text frame', async () => {
      const bad = Buffer.from([0x7b, 0xc3, 0x28, 0x7d]); // "{" + broken 2-byte sequence + "}"
      expect(await closeCodeAfter(`${gw.url}/${CIRCLE}`, (ws) => ws.send(bad, { binary: false }))).toBe(1007);
    });
  }
});

describe('transport choice', () => {
  const native = loadNativeUws();
  if (native.ok) {
    it('auto takes the native uWebSockets.js binary that loads here', () => {
      expect(chooseTransport('auto').name).toBe('uws');
    });
  } else {
    it(`auto takes ws and --transport uws refuses to start (${native.reason})`, () => {
      expect(chooseTransport('auto')).toMatchObject({ name: 'ws', note: native.reason });
      expect(() => chooseTransport('uws')).toThrow(
        /--transport uws: uWebSockets.js native binary unavailable/,
      );
    });
  }
  it('ws is always available', () => expect(chooseTransport('ws').name).toBe('ws'));
});

describe.each(TEST_TRANSPORTS)('readiness and lame duck (%s)', (transport) => {
  let worker: WorkerHandle | undefined;
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it('/readyz is 503 until a worker serves the circle, then 200', async () => {
    const ns = redis.namespace();
    const gw = await startGateway(redis.url, ns, { circles: [CIRCLE], transport });
    try {
      const before = await fetch(`${gw.http}/readyz`);
      expect(before.status).toBe(503);
      expect(JSON.stringify(await before.json())).toContain(CIRCLE);
      expect((await fetch(`${gw.http}/livez`)).status).toBe(200);
      worker = await startWorker(
        { circles: [CIRCLE], redisUrl: redis.url, namespace: ns, concurrency: 1, logLevel: 'silent' },
        { logger: silentLogger() },
      );
      const after = await fetch(`${gw.http}/readyz`);
      expect(after.status).toBe(200);
      expect(await after.json()).toMatchObject({ status: 'ready', transport });
    } finally {
      await gw.stop();
    }
  });

  it('turns /readyz 503 for the lame-duck period while still serving, then drains', async () => {
    const ns = redis.namespace();
    const gw = await startGateway(redis.url, ns, { circles: [CIRCLE], transport, lameduckMs: 800 });
    worker = await startWorker(
      { circles: [CIRCLE], redisUrl: redis.url, namespace: ns, concurrency: 1, logLevel: 'silent' },
      { logger: silentLogger() },
    );
    const c = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    expect((await fetch(`${gw.http}/readyz`)).status).toBe(200);
    const stopping = gw.stop();
    const t0 = Date.now();
    expect((await fetch(`${gw.http}/readyz`)).status).toBe(503);
    // still serving during the lame duck: existing sessions and new connections
    expect((await c.call('play', ['40 + 2'])).output).toBe('42');
    const late = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
    expect((await late.call('whoami')).circle).toBe(CIRCLE);
    expect((await c.closed).code).toBe(1001);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    await stopping;
  });
});

describe('TLS on every transport', () => {
  const { dir, cert, key } = selfSignedCert();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(TEST_TRANSPORTS)('serves wss:// on %s', async (transport) => {
    const gw = await startGateway(redis.url, redis.namespace(), {
      circles: [CIRCLE],
      transport,
      tls: { cert, key },
    });
    try {
      expect(gw.url).toMatch(/^wss:\/\//);
      const ws = new WebSocket(`${gw.url}/${CIRCLE}`, { rejectUnauthorized: false });
      const answer = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'whoami' })));
        ws.once('message', (d) => resolve(d.toString()));
        ws.once('error', reject);
      });
      expect(JSON.parse(answer)).toMatchObject({ result: { circle: CIRCLE } });
      ws.close();
    } finally {
      await gw.stop();
    }
  });

  it.each(TEST_TRANSPORTS)('an unreadable certificate is one clear error on %s', async (transport) => {
    await expect(
      startGateway(redis.url, redis.namespace(), {
        transport,
        tls: { cert: path.join(dir, 'nope.pem'), key },
      }),
    ).rejects.toThrow(/cannot read TLS certificate file/);
  });
});
