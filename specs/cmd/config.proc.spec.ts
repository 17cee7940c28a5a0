import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildOnce, killAll, launch } from '../support/cli';
import { RpcClient } from '../support/rpc-client';
import { chooseTransport } from '../../transport/start-listener';
import { REPO_ROOT } from '../support/repo-root';

/** What `--transport auto` picks on this Node (uws where its binary loads). */
const AUTO_TRANSPORT = chooseTransport('auto').name;

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const COMMANDS = ['circles-launcher', 'circles-server', 'circles-worker', 'circles-backup'] as const;
const VERSION = (
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-config-cli-'));
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  buildOnce();
});
afterAll(() => killAll());

/** Runs a command to its end; exit code, stdout and stderr. */
async function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = launch(command, args, env);
  const code = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

describe('every command', () => {
  it.each(COMMANDS)('%s --version prints the package version', async (command) => {
    const r = await run(command, ['--version']);
    expect(r).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it.each([
    ['circles-launcher', ['CIRCLES_PORT', 'CIRCLES_CIRCLES', 'CIRCLES_DATA_DIR', 'STRIPE_WEBHOOK_SECRET']],
    ['circles-server', ['CIRCLES_REDIS_URL', 'CIRCLES_TRANSPORT', 'CIRCLES_LAMEDUCK', 'CIRCLES_MAX_BATCH']],
    ['circles-worker', ['CIRCLES_METRICS_PORT', 'CIRCLES_METRICS_HOST', 'CIRCLES_LOG_FORMAT']],
    ['circles-backup', ['CIRCLES_DATA_DIR']],
  ])('%s --help lists the environment variables', async (command, names) => {
    const r = await run(command, ['--help']);
    expect(r.code).toBe(0);
    for (const name of [...names, 'CIRCLES_CONFIG']) expect(r.stdout).toContain(name);
  });

  it.each(COMMANDS)('%s: an unknown config key exits 2 with one line naming it', async (command) => {
    const file = write(`${command}-typo.json`, '{"prot": 8443}');
    const target = command === 'circles-backup' ? [path.join(dir, 'backup')] : [];
    const r = await run(command, ['--config', file, ...target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${command}: config file ${file}: unknown key "prot"\n`);
    expect(r.stdout).toBe('');
  });

  it.each(COMMANDS)('%s: a bad flag exits 2 with one line', async (command) => {
    const r = await run(command, ['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${command}: unknown option '--bogus'\n`);
  });
});

describe('--print-config', () => {
  it('shows flags over environment over config file over defaults, with sources', async () => {
    const file = write(
      'precedence/circles.json',
      JSON.stringify({ port: 9000, playTimeout: 5000, maxBatch: 10 }),
    );
    const r = await run('circles-server', ['--config', file, '--print-config', '--max-batch', '20'], {
      CIRCLES_PLAY_TIMEOUT: '6000',
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      port: 9000,
      playTimeout: 6000,
      maxBatch: 20,
      maxInflight: 64,
      sources: {
        port: `config:${file}`,
        playTimeout: 'env:CIRCLES_PLAY_TIMEOUT',
        maxBatch: 'cli',
        maxInflight: 'default',
      },
    });
  });

  it('CIRCLES_CONFIG names the file', async () => {
    const file = write('by-env.json', '{"logFormat": "pretty"}');
    const r = await run('circles-server', ['--print-config'], { CIRCLES_CONFIG: file });
    expect(JSON.parse(r.stdout)).toMatchObject({
      logFormat: 'pretty',
      sources: { logFormat: `config:${file}` },
    });
  });

  it('redacts webhook secrets and the Redis password', async () => {
    const r = await run(
      'circles-launcher',
      ['--print-config', '--stripe-secret', 'whsec_flag', '--redis-url', 'redis://:hunter2@127.0.0.1:6379'],
      { IDENFY_WEBHOOK_SECRET: 'idenfy_env_secret' },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/whsec_flag|idenfy_env_secret|hunter2/);
    expect(JSON.parse(r.stdout)).toMatchObject({
      stripeSecret: '***',
      idenfySecret: '***',
      redisUrl: 'redis://:***@127.0.0.1:6379',
    });
  });

  it('the worker: new flags and their defaults', async () => {
    const r = await run('circles-worker', ['--print-config', '--metrics-port', '0'], { CIRCLES_CIRCLES: A });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      circles: [A],
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      logFormat: 'auto',
      sources: { circles: 'env:CIRCLES_CIRCLES', metricsPort: 'cli' },
    });
  });
});

describe('circles-launcher started from a config file', () => {
  it('serves the circles of the file (init path relative to it), listens where it says, fits 80 columns', async () => {
    const file = write(
      'site/circles.json',
      JSON.stringify({
        port: 0,
        logLevel: 'warn',
        dataDir: 'data',
        circles: [{ pk: A, init: 'init/setup.rhai' }],
      }),
    );
    write('site/init/setup.rhai', 'store_set("from", "config file"); 1');
    const r = launch('circles-launcher', ['--config', file]);
    const [, url] = await r.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000);
    const c = await RpcClient.connect(`${url}/${A}`);
    expect((await c.call('play', ['store_get("from")'])).output).toBe('config file');
    await c.close();
    const lines = r.stdout().trim().split('\n');
    expect(lines).toEqual([
      `circle     ${A}`,
      `url        ${url}/<circle>`,
      `playground ${url.replace(/^ws/, 'http')}/`,
      `backend    embedded (${path.join(dir, 'site', 'data')})`,
      `transport  ${AUTO_TRANSPORT}`,
      `listening on ${url}`,
    ]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    r.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });
});

describe('--log-format', () => {
  it.each([
    ['pretty', (line: string) => expect(line).toMatch(/^\[[\d:.]+\] (INFO|WARN) \(circles-launcher\):/)],
    ['json', (line: string) => expect(JSON.parse(line)).toMatchObject({ name: 'circles-launcher' })],
    // auto: stderr is a pipe here, so JSON
    ['auto', (line: string) => expect(JSON.parse(line)).toMatchObject({ name: 'circles-launcher' })],
  ])('%s', async (format, check) => {
    const data = fs.mkdtempSync(path.join(dir, 'data-'));
    const r = launch('circles-launcher', ['--port', '0', '--data-dir', data, '--log-format', format]);
    await r.waitFor(/listening on/, 20_000);
    r.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    check(r.stderr().split('\n')[0]!);
  });
});
