import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServerOptionsSchema } from '../../server/options';
import {
  BACKUP_FLAGS,
  backupSchema,
  LAUNCHER_FLAGS,
  launcherSchema,
  type LauncherFlags,
  SERVER_COMMAND_FLAGS,
  serverSchema,
  WORKER_FLAGS,
  workerSchema,
} from '../../cmd/flags';
import {
  buildProgram,
  configReport,
  envNamesOf,
  FlagError,
  longFlagOf,
  redactUrl,
  resolveSettings,
  type FlagSpec,
  type Settings,
} from '../../cmd/options';
import { workerOptionsSchema } from '../../worker/options';

const A = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const B = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-config-'));
let n = 0;
/** Writes `json` as a config file in a fresh subdirectory; its path. */
const configFile = (json: unknown): string => {
  const sub = path.join(dir, `c${n++}`);
  fs.mkdirSync(sub);
  const file = path.join(sub, 'circles.json');
  fs.writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
};

const launcher = (
  o: { cli?: Record<string, unknown>; env?: NodeJS.ProcessEnv; file?: string } = {},
): Settings<LauncherFlags> =>
  resolveSettings({
    specs: LAUNCHER_FLAGS,
    schema: launcherSchema,
    cli: o.cli ?? {},
    env: o.env ?? {},
    configFile: o.file,
  });

const failure = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FlagError);
    return (err as Error).message;
  }
  throw new Error('expected a FlagError');
};

describe('precedence: flags > environment > config file > schema defaults', () => {
  const file = configFile({ port: 9000, playTimeout: 5000, maxBatch: 10, auth: true });
  it.each([
    // given by: cli, env, file → expected port and its source
    [undefined, undefined, false, 8443, 'default'],
    [undefined, undefined, true, 9000, 'config'],
    [undefined, '9100', true, 9100, 'env:CIRCLES_PORT'],
    [9200, '9100', true, 9200, 'cli'],
    [9200, undefined, true, 9200, 'cli'],
    [9200, '9100', false, 9200, 'cli'],
    [undefined, '9100', false, 9100, 'env:CIRCLES_PORT'],
  ] as const)('cli %p, env %p, file %p → %p from %p', (cli, env, withFile, port, source) => {
    const s = launcher({
      cli: cli === undefined ? {} : { port: cli },
      env: env === undefined ? {} : { CIRCLES_PORT: env },
      file: withFile ? file : undefined,
    });
    expect(s.values.port).toBe(port);
    expect(s.sources.port).toBe(source === 'config' ? `config:${file}` : source);
  });

  it('mixes sources key by key', () => {
    const s = launcher({ cli: { maxBatch: 20 }, env: { CIRCLES_PLAY_TIMEOUT: '6000' }, file });
    expect(s.values).toMatchObject({
      port: 9000,
      playTimeout: 6000,
      maxBatch: 20,
      auth: true,
      maxInflight: 64,
    });
    expect(s.sources).toMatchObject({
      port: `config:${file}`,
      playTimeout: 'env:CIRCLES_PLAY_TIMEOUT',
      maxBatch: 'cli',
      maxInflight: 'default',
    });
  });

  it('an empty variable counts as unset', () => {
    expect(launcher({ env: { CIRCLES_PORT: '' }, file }).values.port).toBe(9000);
  });
});

describe('defaults live once: in the library schemas', () => {
  it('the flag schemas give the library defaults', () => {
    const server = ServerOptionsSchema.parse({});
    const l = launcher().values;
    expect(l).toMatchObject({
      host: server.host,
      port: server.port,
      playTimeout: server.playTimeoutMs,
      taskTtl: server.taskTtlSeconds,
      maxFrame: server.maxFrameBytes,
      drainTimeout: server.drainTimeoutMs,
      transport: 'auto',
      lameduck: 0,
      maxBatch: 1000,
      logFormat: 'auto',
    });
    expect(l.redisUrl).toBeUndefined(); // the launcher's default backend is the embedded database
    const s = resolveSettings({ specs: SERVER_COMMAND_FLAGS, schema: serverSchema, cli: {}, env: {} });
    expect(s.values.redisUrl).toBe(server.redisUrl);
    const w = resolveSettings({
      specs: WORKER_FLAGS,
      schema: workerSchema,
      cli: { circles: [{ pk: A }] },
      env: {},
    });
    const worker = workerOptionsSchema.parse({ circles: [A] });
    expect(w.values).toMatchObject({
      redisUrl: worker.redisUrl,
      taskTtl: worker.taskTtlSeconds,
      playTimeout: worker.playTimeoutMs,
      metricsHost: '127.0.0.1',
    });
    expect(w.values.metricsPort).toBeUndefined(); // no HTTP server unless asked
  });

  it('help shows the schema default and the variables of every flag', () => {
    const help = buildProgram({
      name: 'circles-server',
      description: '',
      flags: SERVER_COMMAND_FLAGS,
      schema: serverSchema,
    }).helpInformation();
    expect(help.replace(/\s+/g, ' ')).toContain('default: 8443; env: CIRCLES_PORT');
    expect(help).toContain('CIRCLES_CONFIG');
    for (const spec of SERVER_COMMAND_FLAGS) for (const env of envNamesOf(spec)) expect(help).toContain(env);
  });

  it.each([
    ['circles-launcher', LAUNCHER_FLAGS],
    ['circles-server', SERVER_COMMAND_FLAGS],
    ['circles-worker', WORKER_FLAGS],
    ['circles-backup', BACKUP_FLAGS],
  ] as const)('%s: every flag has a CIRCLES_ variable named after it, and a schema field', (_, specs) => {
    const shapes = { ...launcherSchema.shape, ...workerSchema.shape, ...backupSchema.shape };
    for (const spec of specs as readonly FlagSpec[]) {
      expect(Object.keys(shapes)).toContain(spec.key);
      if (spec.hidden) continue;
      const expected =
        spec.kind === 'circles'
          ? 'CIRCLES_CIRCLES'
          : `CIRCLES_${longFlagOf(spec).toUpperCase().replace(/-/g, '_')}`;
      expect(envNamesOf(spec)[0]).toBe(expected);
    }
  });
});

describe('the environment', () => {
  it('CIRCLES_CIRCLES is a comma-separated list of pk[:init.rhai]', () => {
    const s = launcher({ env: { CIRCLES_CIRCLES: `${A}:init.rhai, 0x${B.toUpperCase()},` } });
    expect(s.values.circles).toEqual([{ pk: A, initScript: 'init.rhai' }, { pk: B }]);
  });

  it('booleans read 1/0, true/false, yes/no, on/off; anything else is an error naming the variable', () => {
    expect(launcher({ env: { CIRCLES_AUTH: 'yes' } }).values.auth).toBe(true);
    expect(launcher({ env: { CIRCLES_AUTH: '0' } }).values.auth).toBe(false);
    expect(launcher({ env: { CIRCLES_FSYNC: 'TRUE' } }).values.fsync).toBe(true);
    expect(failure(() => launcher({ env: { CIRCLES_AUTH: 'maybe' } }))).toMatch(
      /^CIRCLES_AUTH: expected true/,
    );
  });

  it('a bad number names the variable', () => {
    expect(failure(() => launcher({ env: { CIRCLES_PORT: 'x' } }))).toBe(
      "CIRCLES_PORT: expected a whole number, got 'x'",
    );
    expect(failure(() => launcher({ env: { CIRCLES_PORT: '70000' } }))).toMatch(/^CIRCLES_PORT: .*65535/);
  });

  it('webhook secrets: CIRCLES_STRIPE_SECRET, else STRIPE_WEBHOOK_SECRET; a flag beats both', () => {
    const legacy = { STRIPE_WEBHOOK_SECRET: 'whsec_old', IDENFY_WEBHOOK_SECRET: 'idf' };
    expect(launcher({ env: legacy }).values).toMatchObject({
      stripeSecret: 'whsec_old',
      idenfySecret: 'idf',
    });
    expect(launcher({ env: { ...legacy, CIRCLES_STRIPE_SECRET: 'whsec_new' } }).values.stripeSecret).toBe(
      'whsec_new',
    );
    // a flag given as "" turns the provider off whatever the environment says
    expect(launcher({ cli: { stripeSecret: '' }, env: legacy }).values.stripeSecret).toBe('');
  });
});

describe('the config file', () => {
  it('takes every option by its camelCase flag name; circles as keys or {pk, init}', () => {
    const file = configFile({
      circles: [{ pk: A, init: 'scripts/init.rhai' }, B],
      redisUrl: 'redis://127.0.0.1:6390',
      dataDir: 'data',
      stripeSecret: ['whsec_a', 'whsec_b'],
      transport: 'ws',
      lameduck: 2500,
      logFormat: 'json',
      fsync: true,
    });
    const base = path.dirname(file);
    const v = launcher({ file }).values;
    // relative paths resolve against the file's directory
    expect(v.circles).toEqual([{ pk: A, initScript: path.join(base, 'scripts/init.rhai') }, { pk: B }]);
    expect(v.dataDir).toBe(path.join(base, 'data'));
    expect(v).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6390',
      stripeSecret: 'whsec_a,whsec_b',
      transport: 'ws',
      lameduck: 2500,
      logFormat: 'json',
      fsync: true,
    });
  });

  it.each([
    [{ prot: 8443 }, 'unknown key "prot"'],
    [{ namespace: 'x' }, 'unknown key "namespace"'], // test plumbing, not configuration
    [{ port: '8443' }, '"port": must be a number'],
    [{ port: 70000 }, '"port": Too big'],
    [{ auth: 'yes' }, '"auth": must be true or false'],
    [{ transport: 'carrier-pigeon' }, '"transport": Invalid option'],
    [{ circles: A }, '"circles": must be a list'],
    [{ circles: ['nothex'] }, '"circles": item 1: \'nothex\' is not a secp256k1 public key'],
    [{ circles: [{ pk: A, script: 'x' }] }, '"circles": item 1: unknown key "script" in a circle'],
    [{ tls: true }, '"tls": needs both --cert <pem> and --key <pem>'],
    [[1, 2], 'must hold one JSON object'],
  ])('%j is an error naming the key', (json, message) => {
    const file = configFile(json);
    expect(failure(() => launcher({ file }))).toContain(`config file ${file}: ${message}`);
  });

  it('an unreadable file or bad JSON is one line', () => {
    const missing = path.join(dir, 'missing.json');
    expect(failure(() => launcher({ file: missing }))).toBe(`config file ${missing}: cannot read (ENOENT)`);
    const bad = configFile('{"port": 1,');
    const message = failure(() => launcher({ file: bad }));
    expect(message).toMatch(new RegExp(`^config file ${bad}: not valid JSON \\(.+\\)$`));
    expect(message).not.toContain('\n');
  });

  it('the backup takes the launcher file and uses only its dataDir', () => {
    const file = configFile({ port: 1, dataDir: '/var/lib/circles' });
    const s = resolveSettings({
      specs: BACKUP_FLAGS,
      schema: backupSchema,
      cli: {},
      env: {},
      configFile: file,
      ignoredConfigKeys: LAUNCHER_FLAGS.map((f) => f.key),
    });
    expect(s.values).toEqual({ dataDir: '/var/lib/circles' });
  });
});

describe('--print-config', () => {
  it('shows every option with its source, secrets redacted', () => {
    const file = configFile({ redisUrl: 'redis://admin:s3cret@db:6379/2', playTimeout: 5000 });
    const s = launcher({
      cli: { stripeSecret: 'whsec_flag', circles: [{ pk: A, initScript: '/srv/init.rhai' }] },
      env: { IDENFY_WEBHOOK_SECRET: 'idenfy_env' },
      file,
    });
    const text = configReport(LAUNCHER_FLAGS, s);
    expect(text).not.toMatch(/whsec_flag|idenfy_env|s3cret/);
    const report = JSON.parse(text) as Record<string, unknown>;
    expect(report).toMatchObject({
      circles: [{ pk: A, init: '/srv/init.rhai' }],
      redisUrl: 'redis://admin:***@db:6379/2',
      stripeSecret: '***',
      idenfySecret: '***',
      playTimeout: 5000,
      port: 8443,
      cert: null,
      sources: {
        stripeSecret: 'cli',
        idenfySecret: 'env:IDENFY_WEBHOOK_SECRET',
        redisUrl: `config:${file}`,
        port: 'default',
      },
    });
    for (const spec of LAUNCHER_FLAGS) expect(report).toHaveProperty(spec.key);
  });

  it.each([
    ['redis://:pw@host:6379', 'redis://:***@host:6379'],
    ['rediss://user:p%40ss@host/0', 'rediss://user:***@host/0'],
    ['redis://host:6379', 'redis://host:6379'],
    ['redis://user@host', 'redis://user@host'],
  ])('redactUrl(%s) = %s', (url, redacted) => expect(redactUrl(url)).toBe(redacted));
});
