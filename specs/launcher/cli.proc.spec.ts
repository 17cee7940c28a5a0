import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import { createClient } from 'redis';
import { stripeSignatureHeader } from '../../webhooks/stripe-signature';
import { buildOnce, killAll, launch, type Run } from '../support/cli';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';
import { chooseTransport } from '../../transport/start-listener';

/** What `--transport auto` picks on this Node (uws where its binary loads). */
const AUTO_TRANSPORT = chooseTransport('auto').name;

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const B = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const C = '0381aaadc8a5e83f4576df823cf22a5b1969cf704a0d5f6f68bd757410c9917aac';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-launcher-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  buildOnce();
});
afterAll(() => killAll());

/** A fresh data directory per launcher, so parallel specs never share (or lock) one. */
const dataDir = (): string => fs.mkdtempSync(path.join(dir, 'data-'));

async function started(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  data = dataDir(),
): Promise<{ run: Run; url: string }> {
  const run = launch(
    'circles-launcher',
    ['--port', '0', '--log-level', 'warn', '--data-dir', data, ...args],
    env,
  );
  const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000);
  return { run, url: url! };
}

async function stopped(run: Run): Promise<number | null> {
  run.kill('SIGTERM');
  return run.exited;
}

/** A Stripe delivery of `body`, signed with `secret`, to circle A of the server at `url`. */
function postStripe(url: string, secret: string, body: string): Promise<Response> {
  return fetch(`${url.replace('ws', 'http')}/webhooks/stripe/${A}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': stripeSignatureHeader(body, secret, Math.floor(Date.now() / 1000)),
    },
    body,
  });
}

/** One play on a fresh anonymous session; its output. */
async function playOnce(url: string, circle: string, script: string): Promise<string> {
  const c = await RpcClient.connect(`${url}/${circle}`);
  try {
    return (await c.call('play', [script])).output;
  } finally {
    await c.close();
  }
}

async function authenticatedPlay(
  url: string,
  circle: string,
  script: string,
): Promise<{ output: string; pk: string }> {
  const wallet = new Wallet(`0x${randomBytes(32).toString('hex')}`);
  const c = await RpcClient.connect(`${url}/${circle}`);
  const pk = wallet.signingKey.compressedPublicKey.slice(2);
  const { nonce } = await c.call('fetch_nonce', [pk]);
  await c.call('authenticate', [pk, await wallet.signMessage(nonce)]);
  const { output } = await c.call('play', [script]);
  await c.close();
  return { output, pk };
}

describe('circles-launcher, embedded backend (no Redis)', () => {
  it('authenticates with a wallet signature and plays scripts in two circles; a third is 404', async () => {
    const data = dataDir();
    const { run, url } = await started(['-k', A, '-c', B, '--auth'], {}, data);
    // the startup lines name each circle, the URL pattern and where the data lives
    const lines = run.stdout().trim().split('\n');
    expect(lines).toEqual([
      `circle     ${A}`,
      `circle     ${B}`,
      `url        ${url}/<circle>`,
      `playground ${url.replace(/^ws/, 'http')}/`,
      `backend    embedded (${data})`,
      `transport  ${AUTO_TRANSPORT}`,
      `listening on ${url}`,
    ]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    const a = await authenticatedPlay(url, A, 'let x = 40; x + 2');
    expect(a.output).toBe('42');
    const b = await authenticatedPlay(url, B, '`${CONTEXT_ID} ${CALLER_ID}`');
    expect(b.output).toBe(`${B} ${b.pk}`);
    await expect(RpcClient.connect(`${url}/${C}`)).rejects.toThrow('HTTP 404');
    expect(await stopped(run)).toBe(0);
  });

  it("runs a circle's init script before serving; its effect is visible to later plays", async () => {
    const init = file('init.rhai', 'store_set("greeting", "hello from " + CALLER_ID); "initialised"');
    const { run, url } = await started(['-k', `${A}:${init}`]);
    const c = await RpcClient.connect(`${url}/${A}`);
    expect((await c.call('play', ['store_get("greeting")'])).output).toBe(`hello from ${A}`);
    await c.close();
    expect(await stopped(run)).toBe(0);
  });

  it('a failing init script stops the start with its error and position', async () => {
    const init = file('bad.rhai', 'let x = 1;\nlet y = x + undefined_thing;');
    const run = launch('circles-launcher', ['--port', '0', '--data-dir', dataDir(), '-k', `${A}:${init}`]);
    expect(await run.exited).not.toBe(0);
    expect(run.stdout()).not.toMatch(/listening on/);
    const err = run.stderr().trim().split('\n').pop()!;
    expect(err).toMatch(/init script .*bad\.rhai.*failed: .*undefined_thing.*line 2, position \d+/);
  });

  it('an unreadable init script is a one-line error', async () => {
    const run = launch('circles-launcher', [
      '--port',
      '0',
      '--data-dir',
      dataDir(),
      '-k',
      `${A}:/nonexistent/init.rhai`,
    ]);
    expect(await run.exited).not.toBe(0);
    expect(run.stderr().trim()).toMatch(/cannot read init script \/nonexistent\/init.rhai$/);
  });

  it('takes a signed Stripe event (secret from the environment) into the circle store', async () => {
    const secret = 'whsec_launcher_spec';
    const { run, url } = await started(['-k', A], { STRIPE_WEBHOOK_SECRET: secret });
    const id = `evt_${randomBytes(6).toString('hex')}`;
    const body = JSON.stringify({
      id,
      object: 'event',
      type: 'checkout.session.completed',
      created: 1,
      data: { object: { amount_total: 4200 } },
    });
    const res = await postStripe(url, secret, body);
    expect(res.status).toBe(200);
    const c = await RpcClient.connect(`${url}/${A}`);
    const probe = `let e = store_get("stripe:${id}"); if e == () { "" } else { e.data.object.amount_total.to_string() }`;
    const seen = await until(
      async () => {
        const output = (await c.call('play', [probe])).output as string;
        return output.includes('4200') ? output : undefined;
      },
      'the event in the store',
      5000,
    );
    expect(seen).toBe('4200');
    await c.close();
    expect(await stopped(run)).toBe(0);
  });

  it('keeps circle stores across kill -9: what a play answered is on disk', async () => {
    const data = dataDir();
    const first = await started(['-k', A], {}, data);
    expect(await playOnce(first.url, A, 'store_set("kept", #{ n: 7 }); store_get("kept").n')).toBe('7');
    first.run.kill('SIGKILL');
    await first.run.exited;
    const second = await started(['-k', A], {}, data);
    expect(await playOnce(second.url, A, 'store_get("kept").n * 6')).toBe('42');
    expect(await stopped(second.run)).toBe(0);
  });

  it('runs a webhook event answered 200 after a kill -9 that came before it ran', async () => {
    const data = dataDir();
    const secret = 'whsec_durable';
    // the handler takes a while, so the launcher dies with the event queued or running
    const handler = file(
      'slow-handler.rhai',
      'let s = ""; s.pad(300000, "y"); for i in 0..20 { s.replace("y", "z"); s.replace("z", "y"); } store_set("seen:" + event.id, event.type); "ok"',
    );
    const env = { STRIPE_WEBHOOK_SECRET: secret };
    const first = await started(['-k', A, '--stripe-handler', handler], env, data);
    const ids = [0, 1, 2].map(() => `evt_${randomBytes(6).toString('hex')}`);
    for (const id of ids) {
      const body = JSON.stringify({
        id,
        object: 'event',
        type: 'invoice.paid',
        created: 1,
        data: { object: {} },
      });
      const res = await postStripe(first.url, secret, body);
      expect(res.status).toBe(200);
    }
    first.run.kill('SIGKILL');
    await first.run.exited;
    const second = await started(['-k', A, '--stripe-handler', handler], env, data);
    const c = await RpcClient.connect(`${second.url}/${A}`);
    const keys = ids.map((id) => `"seen:${id}"`).join(', ');
    const probe = `let out = ""; for k in [${keys}] { let v = store_get(k); if v != () { out += v + ","; } } out`;
    let seen = '';
    await until(
      async () => {
        seen = (await c.call('play', [probe])).output as string;
        return seen === 'invoice.paid,invoice.paid,invoice.paid,';
      },
      () => `all three events handled (last: ${seen})`,
      15_000,
      100,
    );
    await c.close();
    expect(await stopped(second.run)).toBe(0);
  });

  it('circles-backup copies the database of a running launcher; the copy serves as a --data-dir', async () => {
    const data = dataDir();
    const first = await started(['-k', A], {}, data);
    expect(await playOnce(first.url, A, 'store_set("backed", "up"); 1')).toBe('1');
    const copy = path.join(dir, `backup-${randomBytes(4).toString('hex')}`);
    const backup = launch('circles-backup', ['--data-dir', data, copy]);
    expect(await backup.exited).toBe(0);
    expect(backup.stdout()).toMatch(/backed up .* \(\d+ bytes\)/);
    // a target that is not empty is refused with one line
    const again = launch('circles-backup', ['--data-dir', data, copy]);
    expect(await again.exited).not.toBe(0);
    expect(again.stderr().trim()).toMatch(/must be a new or empty directory$/);
    expect(await stopped(first.run)).toBe(0);
    const restored = await started(['-k', A], {}, copy);
    expect(await playOnce(restored.url, A, 'store_get("backed")')).toBe('up');
    expect(await stopped(restored.run)).toBe(0);
  });

  it('refuses a second launcher on the same --data-dir with one line', async () => {
    const data = dataDir();
    const first = await started(['-k', A], {}, data);
    const second = launch('circles-launcher', ['--port', '0', '--data-dir', data, '-k', B]);
    expect(await second.exited).not.toBe(0);
    const lines = second.stderr().trim().split('\n');
    expect(lines.pop()).toMatch(new RegExp(`data directory ${data} is in use by process \\d+`));
    expect(await stopped(first.run)).toBe(0);
  });

  it('an unusable --data-dir (CIRCLES_DATA_DIR) stops the start with one line naming it', async () => {
    const notADir = file('not-a-dir', 'plain file');
    const run = launch('circles-launcher', ['--port', '0', '-k', A], { CIRCLES_DATA_DIR: notADir });
    expect(await run.exited).not.toBe(0);
    expect(run.stdout()).not.toMatch(/listening on/);
    expect(run.stderr().trim().split('\n').pop()).toMatch(new RegExp(`${notADir}`));
  });

  it('without -k generates a development circle and serves it', async () => {
    const { run, url } = await started([]);
    expect(run.stdout()).toContain('no -k given: serving a generated development circle\n');
    const [, pk] = run.stdout().match(/^circle +([0-9a-f]{66})$/m)!;
    expect(run.stdout()).toContain(`url        ${url}/<circle>\n`);
    for (const line of run.stdout().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const c = await RpcClient.connect(`${url}/${pk}`);
    expect((await c.call('play', ['CONTEXT_ID'])).output).toBe(pk);
    await c.close();
    expect(await stopped(run)).toBe(0);
  });
});

describe('circles-launcher with --redis-url', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  it('runs end to end through Redis and leaves no worker behind on SIGTERM', async () => {
    const { run, url } = await started(['-k', A, '--redis-url', redis.url, '--auth']);
    expect(run.stdout()).toContain(`circle     ${A}\n`);
    expect(run.stdout()).toContain(`backend    ${redis.url}\n`);
    const r = await authenticatedPlay(url, A, 'store_set("n", 7); store_get("n") * 6');
    expect(r.output).toBe('42');
    const client = createClient({ url: redis.url });
    await client.connect();
    expect(await client.hGet(`circles:store:${A}`, 'n')).toBe('7');
    expect(await client.keys('rhailib:worker:*')).toHaveLength(1);
    expect(await stopped(run)).toBe(0);
    expect(await client.keys('rhailib:worker:*')).toHaveLength(0);
    expect(await client.keys('rhailib:processing:*')).toHaveLength(0);
    client.destroy();
  });
});
