import { randomBytes, randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { start, stop } from 'nact';
import { createClient } from 'redis';
import Stripe from 'stripe';
import { spawnCircleServer } from '../../server/circle-server';
import { silentLogger } from '../../log';
import { BackendUnavailableError, type DispatchBackend } from '../../queue/dispatch-backend';
import { keyBuilder } from '../../queue/keys';
import { createRedisDispatch } from '../../queue/redis-dispatch';
import { DEFAULT_IDENFY_HANDLER, DEFAULT_STRIPE_HANDLER } from '../../webhooks/default-handlers';
import { idenfySignatureHeader } from '../../webhooks/idenfy-signature';
import { stripeSignatureHeader } from '../../webhooks/stripe-signature';
import { startWorker } from '../../worker';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';

/** The generator point G and 2G: valid circle keys. */
const CIRCLE = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const UNSERVED = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';
const STRIPE_SECRET = 'whsec_test_current';
const IDENFY_SECRET = 'idenfy-test-secret';
const BODY_LIMIT = 4096;
const WEBHOOK_SECRETS = { stripeSecrets: ['whsec_test_old', STRIPE_SECRET], idenfySecrets: [IDENFY_SECRET] };

type Client = ReturnType<typeof createClient>;
let redis: TestRedis;
let client: Client;

beforeAll(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
});
afterAll(async () => {
  client.destroy();
  await redis.stop();
});

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function stripeEvent(
  id = `evt_${randomBytes(8).toString('hex')}`,
  type = 'checkout.session.completed',
): string {
  return JSON.stringify({
    id,
    object: 'event',
    api_version: '2024-06-20',
    type,
    created: nowSeconds(),
    livemode: false,
    data: { object: { id: 'cs_test_1', object: 'checkout.session', amount_total: 4200, currency: 'eur' } },
  });
}

function idenfyResult(scanRef = randomUUID(), overall = 'APPROVED', final = true): string {
  return JSON.stringify({
    clientId: 'client-7',
    scanRef,
    final,
    platform: 'PC',
    status: { overall, autoDocument: 'DOC_VALIDATED' },
  });
}

const idOf = (body: string): string => (JSON.parse(body) as { id: string }).id;

function post(
  gw: TestGateway,
  provider: string,
  circle: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${gw.http}/webhooks/${provider}/${circle}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

const postStripe = (
  gw: TestGateway,
  body: string,
  circle = CIRCLE,
  secret = STRIPE_SECRET,
  t = nowSeconds(),
): Promise<Response> =>
  post(gw, 'stripe', circle, body, { 'stripe-signature': stripeSignatureHeader(body, secret, t) });

const postIdenfy = (
  gw: TestGateway,
  body: string,
  circle = CIRCLE,
  secret = IDENFY_SECRET,
): Promise<Response> =>
  post(gw, 'idenfy', circle, body, { 'idenfy-signature': idenfySignatureHeader(body, secret) });

async function answer(r: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Task ids queued for the circle in a namespace, oldest last (LPUSH order). */
const queued = (gw: TestGateway, circle = CIRCLE): Promise<string[]> =>
  client.lRange(keyBuilder(gw.namespace).workQueue(circle), 0, -1);

const taskHash = (gw: TestGateway, taskId: string): Promise<Record<string, string>> =>
  client.hGetAll(keyBuilder(gw.namespace).task(taskId));

async function gateway(
  options: Parameters<typeof startGateway>[2] = {},
  extras: Parameters<typeof startGateway>[3] = {},
): Promise<TestGateway> {
  const ns = redis.namespace();
  return startGateway(
    redis.url,
    ns,
    { circles: [CIRCLE], maxWebhookBodyBytes: BODY_LIMIT, ...WEBHOOK_SECRETS, ...options },
    {
      ...extras,
    },
  );
}

describe('Stripe webhooks over HTTP (no worker: tasks stay queued)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gateway();
  });
  afterAll(() => gw.stop());

  it('queues a signed checkout.session.completed event for the circle → 200 with the task id', async () => {
    const body = stripeEvent();
    const r = await answer(await postStripe(gw, body));
    expect(r).toEqual({ status: 200, body: { received: true, task_id: expect.any(String) } });
    const taskId = r.body.task_id as string;
    expect(await queued(gw)).toContain(taskId);
    const task = await taskHash(gw, taskId);
    expect(task).toMatchObject({
      taskId,
      callerId: 'stripe',
      contextId: CIRCLE,
      status: 'pending',
      script: DEFAULT_STRIPE_HANDLER,
    });
    // The event travels as data, byte for byte, never inside the script.
    expect(task.input).toBe(body);
    expect(task.script).not.toContain(idOf(body));
  });

  it('accepts a header made by the official stripe package, signed with a rotated-out secret', async () => {
    const body = stripeEvent();
    const header = new Stripe('sk_test_x').webhooks.generateTestHeaderString({
      payload: body,
      secret: 'whsec_test_old',
    });
    expect((await post(gw, 'stripe', CIRCLE, body, { 'stripe-signature': header })).status).toBe(200);
  });

  it('acknowledges a redelivery without queuing it twice', async () => {
    const body = stripeEvent();
    const first = await answer(await postStripe(gw, body));
    expect(first.status).toBe(200);
    const before = await queued(gw);
    // Stripe re-signs a retry with a new timestamp; the event id is what identifies it.
    const again = await answer(await postStripe(gw, body, CIRCLE, STRIPE_SECRET, nowSeconds() - 5));
    expect(again).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(await queued(gw)).toEqual(before);
    expect(before.filter((id) => id === first.body.task_id)).toHaveLength(1);
  });

  it('answers 404 for a circle not served here and for an unknown provider', async () => {
    expect((await postStripe(gw, stripeEvent(), UNSERVED)).status).toBe(404);
    expect((await post(gw, 'paypal', CIRCLE, '{}')).status).toBe(404);
    expect(await queued(gw, UNSERVED)).toEqual([]);
  });

  it('answers 400 for a path that is not a circle key at all', async () => {
    expect((await postStripe(gw, stripeEvent(), 'not-a-key')).status).toBe(400);
  });

  it('answers 413 for a body over the limit, before looking at the signature', async () => {
    const big = JSON.stringify({ id: 'evt_big', pad: 'x'.repeat(BODY_LIMIT) });
    expect((await post(gw, 'stripe', CIRCLE, big)).status).toBe(413);
    expect((await postStripe(gw, big)).status).toBe(413);
  });

  it.each([
    ['no header', (_b: string) => ({})],
    ['a garbled header', (_b: string) => ({ 'stripe-signature': 'nonsense' })],
    [
      'the wrong secret',
      (b: string) => ({ 'stripe-signature': stripeSignatureHeader(b, 'whsec_wrong', nowSeconds()) }),
    ],
    [
      'an expired timestamp',
      (b: string) => ({
        'stripe-signature': stripeSignatureHeader(b, STRIPE_SECRET, nowSeconds() - 301 - 5),
      }),
    ],
    [
      'a future timestamp',
      (b: string) => ({
        'stripe-signature': stripeSignatureHeader(b, STRIPE_SECRET, nowSeconds() + 301 + 5),
      }),
    ],
  ])('answers 400 for %s', async (_what, headers) => {
    const body = stripeEvent();
    const before = (await queued(gw)).length;
    const r = await answer(await post(gw, 'stripe', CIRCLE, body, headers(body)));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/signature|timestamp/);
    expect((await queued(gw)).length).toBe(before);
  });

  it('answers 400 for a tampered body', async () => {
    const body = stripeEvent();
    const header = stripeSignatureHeader(body, STRIPE_SECRET, nowSeconds());
    expect(
      (await post(gw, 'stripe', CIRCLE, body.replace('4200', '1'), { 'stripe-signature': header })).status,
    ).toBe(400);
  });

  it('answers 400 naming the field for a signed body that is not a Stripe event', async () => {
    const body = JSON.stringify({ id: 'evt_shape', object: 'event', type: 'x', created: 1, data: {} });
    const r = await answer(await postStripe(gw, body));
    expect(r.status).toBe(400);
    expect(r.body.error).toContain('data.object');
    expect((await answer(await postStripe(gw, 'not json'))).body.error).toMatch(/JSON/);
  });

  it('counts deliveries per provider and outcome', async () => {
    const text = await (await fetch(`${gw.http}/metrics`)).text();
    expect(text).toMatch(/circles_webhooks_total\{provider="stripe",outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/circles_webhooks_total\{provider="stripe",outcome="duplicate"\} [1-9]/);
    expect(text).toMatch(/circles_webhooks_total\{provider="stripe",outcome="bad_signature"\} [1-9]/);
  });
});

describe('a signed event nested 100,000 levels deep (issue 13)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // the default 1 MiB body limit: the deep body (~0.5 MB) must be refused for its depth
    gw = await gateway({ maxWebhookBodyBytes: 1024 * 1024 });
  });
  afterAll(() => gw.stop());

  const deepEvent = (levels: number): string =>
    `{"id":"evt_deep_${randomBytes(4).toString('hex')}","object":"event","type":"x","created":${nowSeconds()},` +
    `"data":{"object":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}}`;

  it('is answered 400 naming the limit, queues nothing, and the server goes on', async () => {
    const before = (await queued(gw)).length;
    for (const [provider, send] of [
      ['stripe', (b: string) => postStripe(gw, b)],
      ['idenfy', (b: string) => postIdenfy(gw, b)],
    ] as const) {
      const r = await answer(await send(deepEvent(100_000)));
      expect([provider, r]).toEqual([
        provider,
        { status: 400, body: { error: 'body nests JSON deeper than 64 levels (the limit)' } },
      ]);
    }
    expect((await queued(gw)).length).toBe(before);
    // an ordinary event right after is taken
    expect((await postStripe(gw, stripeEvent())).status).toBe(200);
    const metrics = await (await fetch(`${gw.http}/metrics`)).text();
    expect(metrics).toMatch(/circles_webhooks_total\{provider="stripe",outcome="bad_payload"\} [1-9]/);
  });
});

describe('iDenfy webhooks over HTTP', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gateway();
  });
  afterAll(() => gw.stop());

  it('queues a signed result with CALLER_ID idenfy and the result as input', async () => {
    const body = idenfyResult();
    const r = await answer(await postIdenfy(gw, body));
    expect(r).toEqual({ status: 200, body: { received: true, task_id: expect.any(String) } });
    expect(await taskHash(gw, r.body.task_id as string)).toMatchObject({
      callerId: 'idenfy',
      contextId: CIRCLE,
      input: body,
      script: DEFAULT_IDENFY_HANDLER,
    });
  });

  it('acknowledges the same scanRef + status + final once; a new status is a new event', async () => {
    const scanRef = randomUUID();
    expect((await postIdenfy(gw, idenfyResult(scanRef, 'SUSPECTED', false))).status).toBe(200);
    const before = (await queued(gw)).length;
    // Same fields in another order and spacing: still the same event.
    const resent = JSON.stringify({
      scanRef,
      clientId: 'client-7',
      status: { overall: 'SUSPECTED' },
      final: false,
    });
    expect(await answer(await postIdenfy(gw, resent))).toEqual({
      status: 200,
      body: { received: true, duplicate: true },
    });
    expect((await queued(gw)).length).toBe(before);
    expect(
      (await answer(await postIdenfy(gw, idenfyResult(scanRef, 'APPROVED', true)))).body.task_id,
    ).toEqual(expect.any(String));
    expect((await queued(gw)).length).toBe(before + 1);
  });

  it('answers 400 for a bad signature and for a body that is not an iDenfy result', async () => {
    const body = idenfyResult();
    expect((await postIdenfy(gw, body, CIRCLE, 'wrong')).status).toBe(400);
    expect((await post(gw, 'idenfy', CIRCLE, body)).status).toBe(400);
    const r = await answer(
      await postIdenfy(gw, JSON.stringify({ clientId: 'c', final: true, status: { overall: 'APPROVED' } })),
    );
    expect(r.status).toBe(400);
    expect(r.body.error).toContain('scanRef');
  });

  it('answers 404 and 413 like Stripe', async () => {
    expect((await postIdenfy(gw, idenfyResult(), UNSERVED)).status).toBe(404);
    expect((await postIdenfy(gw, 'x'.repeat(BODY_LIMIT + 1))).status).toBe(413);
  });
});

describe('webhooks without a configured secret', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gateway({ stripeSecrets: [], idenfySecrets: [] });
  });
  afterAll(() => gw.stop());

  it('answer 503 with a message naming the setting', async () => {
    const s = await answer(await postStripe(gw, stripeEvent()));
    expect(s.status).toBe(503);
    expect(s.body.error).toContain('STRIPE_WEBHOOK_SECRET');
    const i = await answer(await postIdenfy(gw, idenfyResult()));
    expect(i.status).toBe(503);
    expect(i.body.error).toContain('IDENFY_WEBHOOK_SECRET');
    expect(await queued(gw)).toEqual([]);
  });

  it('still answer 404 and 413 first', async () => {
    expect((await postStripe(gw, stripeEvent(), UNSERVED)).status).toBe(404);
    expect((await post(gw, 'stripe', CIRCLE, 'x'.repeat(BODY_LIMIT + 1))).status).toBe(413);
  });
});

describe('a configured handler script', () => {
  it('is the task script instead of the built-in one', async () => {
    const handler = 'store_set("last", event["id"]);\n"custom"';
    const gw = await gateway({ stripeHandler: handler });
    try {
      const r = await answer(await postStripe(gw, stripeEvent()));
      expect(r.status).toBe(200);
      expect((await taskHash(gw, r.body.task_id as string)).script).toBe(handler);
    } finally {
      await gw.stop();
    }
  });

  it('that does not parse stops the start', async () => {
    const system = start();
    try {
      const starting = spawnCircleServer(
        system,
        { port: 0, idenfyHandler: 'let = 1' },
        { logger: silentLogger() },
      );
      await expect(starting).rejects.toThrow(/^idenfy webhook handler: .*line 1/);
    } finally {
      stop(system);
    }
  });
});

describe('when the backend fails', () => {
  it('a failed submit after marking does not swallow the event: the retry is queued', async () => {
    const ns = redis.namespace();
    const real = createRedisDispatch({ url: redis.url, namespace: ns, logger: silentLogger() });
    let failNext = true;
    const flakyFakeBackend: DispatchBackend = {
      ...real,
      description: real.description,
      submitBatch: async (tasks, ttl) => {
        if (failNext) {
          failNext = false;
          throw new BackendUnavailableError('injected failure');
        }
        return real.submitBatch(tasks, ttl);
      },
    };
    const gw = await startGateway(
      redis.url,
      ns,
      { circles: [CIRCLE], ...WEBHOOK_SECRETS },
      { backend: flakyFakeBackend },
    );
    try {
      const body = stripeEvent();
      const first = await answer(await postStripe(gw, body));
      expect(first).toEqual({ status: 503, body: { error: expect.stringMatching(/unavailable/) } });
      expect(await queued(gw)).toEqual([]);
      const retry = await answer(await postStripe(gw, body));
      expect(retry).toEqual({ status: 200, body: { received: true, task_id: expect.any(String) } });
      expect(await answer(await postStripe(gw, body))).toMatchObject({
        status: 200,
        body: { duplicate: true },
      });
      expect(await queued(gw)).toEqual([retry.body.task_id]);
    } finally {
      await gw.stop();
    }
  });

  it('answers 503 while Redis is down, after the checks that need no Redis', async () => {
    const own = await startRedis();
    const ns = own.namespace();
    const gw = await startGateway(own.url, ns, { circles: [CIRCLE], ...WEBHOOK_SECRETS });
    try {
      expect((await postStripe(gw, stripeEvent())).status).toBe(200);
      await own.stop();
      await until(
        async () => (await fetch(`${gw.http}/health`)).status === 503,
        'the backend to notice',
        15_000,
        25,
      );
      const r = await answer(await postStripe(gw, stripeEvent()));
      expect(r.status).toBe(503);
      expect((await postIdenfy(gw, idenfyResult())).status).toBe(503);
      expect((await postStripe(gw, stripeEvent(), CIRCLE, 'whsec_wrong')).status).toBe(400);
      expect((await postStripe(gw, stripeEvent(), UNSERVED)).status).toBe(404);
    } finally {
      await gw.stop();
      await own.stop();
    }
  });
});

describe('with a real worker', () => {
  it('a queued Stripe event runs the built-in handler, and a later authenticated play sees it in the store', async () => {
    const ns = redis.namespace();
    const gw = await startGateway(redis.url, ns, { circles: [CIRCLE], auth: true, ...WEBHOOK_SECRETS });
    const worker = await startWorker(
      {
        circles: [CIRCLE],
        redisUrl: redis.url,
        namespace: ns,
        concurrency: 1,
        workerId: `w-${randomUUID()}`,
      },
      { logger: silentLogger() },
    );
    let rpc: RpcClient | undefined;
    try {
      const body = stripeEvent();
      const id = idOf(body);
      const r = await answer(await postStripe(gw, body));
      expect(r.status).toBe(200);
      const done = await until(
        async () => {
          const t = await taskHash(gw, r.body.task_id as string);
          return t.status === 'completed' || t.status === 'error' ? t : undefined;
        },
        'the worker to run the handler',
        15_000,
        25,
      );
      expect(done).toMatchObject({
        status: 'completed',
        output: `stripe checkout.session.completed ${id} recorded`,
      });

      rpc = await RpcClient.connect(`${gw.url}/${CIRCLE}`);
      const wallet = new Wallet(`0x${randomBytes(32).toString('hex')}`);
      const { nonce } = await rpc.call('fetch_nonce', { pubkey: wallet.signingKey.compressedPublicKey });
      await rpc.call('authenticate', [
        wallet.signingKey.compressedPublicKey,
        await wallet.signMessage(nonce),
      ]);
      const played = await rpc.call('play', {
        script: `let e = store_get("stripe:${id}"); \`\${e["type"]} \${e["data"]["object"]["amount_total"]} \${e["id"]}\``,
      });
      expect(played.output).toBe(`checkout.session.completed 4200 ${id}`);
    } finally {
      await rpc?.close();
      await worker.stop();
      await gw.stop();
    }
  });
});
