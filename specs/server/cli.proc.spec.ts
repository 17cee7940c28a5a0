import net from 'node:net';
import WebSocket from 'ws';
import { buildOnce, killAll, launch } from '../support/cli';
import { startRedis, type TestRedis } from '../support/redis-server';
import { RpcClient } from '../support/rpc-client';
import { selfSignedCert } from '../support/tls';
import { startFakeWorker } from '../support/fake-worker';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
let redis: TestRedis;

beforeAll(async () => {
  buildOnce();
  redis = await startRedis();
});
afterAll(async () => {
  await killAll();
  await redis.stop();
});

/** A bad start: non-zero exit, one line on stderr, no stack trace. */
async function expectOneLineFailure(args: string[], mention: RegExp, exitCode = 2): Promise<void> {
  const run = launch('circles-server', args);
  expect(await run.exited).toBe(exitCode);
  const lines = run.stderr().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(mention);
  expect(run.stderr()).not.toMatch(/\n\s+at /);
  expect(run.stdout()).not.toMatch(/listening on/);
}

describe('circles-server command line', () => {
  it.each([
    [['--bogus'], /unknown option/],
    [['--port', 'eighty'], /whole number/],
    [['--port', '70000'], /65535/],
    [['-k', 'nothex'], /not a secp256k1 public key/],
    [['-k', `02${'f'.repeat(64)}`], /not a secp256k1 public key/],
    [['--tls'], /--tls: needs both --cert/],
    [['--cert', '/some/cert.pem'], /--cert: is given without --tls/],
    [['-k', `${CIRCLE}:init.rhai`], /init scripts .* are run by circles-launcher/],
    [['--log-level', 'loud'], /log-level/],
    [['--transport', 'carrier-pigeon'], /transport/],
    [['--max-batch', '0'], /--max-batch: .*1/],
    [['--lameduck', '-5'], /lameduck/],
  ])('%j exits 2 with one clear line', (args, mention) =>
    expectOneLineFailure([...args, '--redis-url', redis.url], mention),
  );

  it('an unreadable certificate is a failure to start: exit 1, one line', () =>
    expectOneLineFailure(
      ['--tls', '--cert', '/nonexistent/cert.pem', '--key', '/nonexistent/key.pem', '--redis-url', redis.url],
      /cannot read TLS certificate/,
      1,
    ));

  it('takes its settings from CIRCLES_* variables', async () => {
    const run = launch('circles-server', ['-k', CIRCLE], {
      CIRCLES_PORT: '0',
      CIRCLES_REDIS_URL: redis.url,
      CIRCLES_LOG_FORMAT: 'json',
    });
    const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/);
    await (await RpcClient.connect(`${url}/${CIRCLE}`)).close();
    run.kill();
    expect(await run.exited).toBe(0);
    // JSON lines on stderr, since it is not a terminal
    for (const line of run.stderr().trim().split('\n'))
      expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('a port in use fails with one clear line', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    await expectOneLineFailure(['--port', String(port), '--redis-url', redis.url], /cannot listen/, 1);
    blocker.close();
  });

  it('without -k serves any circle and says development mode', async () => {
    const run = launch('circles-server', ['--port', '0', '--redis-url', redis.url]);
    const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/);
    expect(run.stderr()).toContain('development mode');
    const c = await RpcClient.connect(`${url}/${CIRCLE}`);
    expect((await c.call('whoami')).circle).toBe(CIRCLE);
    await c.close();
    run.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });

  it('with -k serves only those circles (-c is an alias)', async () => {
    const other = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
    const run = launch('circles-server', [
      '--port',
      '0',
      '--redis-url',
      redis.url,
      '-k',
      `0x${CIRCLE.toUpperCase()}`,
      '-c',
      other,
    ]);
    const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/);
    expect(run.stderr()).not.toContain('development mode');
    for (const pk of [CIRCLE, other]) await (await RpcClient.connect(`${url}/${pk}`)).close();
    await expect(RpcClient.connect(`${url}/03${'1'.repeat(64)}`)).rejects.toThrow(/HTTP (400|404)/);
    run.kill();
    expect(await run.exited).toBe(0);
  });

  it('SIGTERM with plays in flight: they are answered, sockets close 1001, exit 0', async () => {
    const ns = ''; // the command uses the plain rhailib: key space; this Redis is ours alone
    const fakeWorker = await startFakeWorker(redis.url, ns, CIRCLE, async (t) => {
      await new Promise((r) => setTimeout(r, 300));
      return { status: 'completed', output: `done ${t.script}` };
    });
    const run = launch('circles-server', ['--port', '0', '--redis-url', redis.url, '-k', CIRCLE]);
    const [, url] = await run.waitFor(/listening on (ws:\/\/[^ \n]+)/);
    const c = await RpcClient.connect(`${url}/${CIRCLE}`);
    const plays = [1, 2, 3].map((i) => c.request('play', [`p${i}`]));
    await new Promise((r) => setTimeout(r, 100));
    run.kill('SIGTERM');
    const answers = await Promise.all(plays);
    for (const [i, a] of answers.entries()) expect(a.result?.output).toBe(`done p${i + 1}`);
    expect((await c.closed).code).toBe(1001);
    expect(await run.exited).toBe(0);
    await fakeWorker.stop();
  });
});

describe('TLS', () => {
  it('serves wss:// with --tls --cert --key', async () => {
    const { cert, key } = selfSignedCert();
    const run = launch('circles-server', [
      '--port',
      '0',
      '--redis-url',
      redis.url,
      '--tls',
      '--cert',
      cert,
      '--key',
      key,
    ]);
    const [, url] = await run.waitFor(/listening on (wss:\/\/[^ \n]+)/);
    const ws = new WebSocket(`${url}/${CIRCLE}`, { rejectUnauthorized: false });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('{"jsonrpc":"2.0","id":1,"method":"whoami"}'));
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    expect(JSON.parse(reply).result.circle).toBe(CIRCLE);
    ws.close();
    run.kill();
    expect(await run.exited).toBe(0);
  });
});
