/**
 * The flags of each command (SPEC §6) and the schemas their values go through. Every
 * default is the library schema's (`ServerOptionsSchema`, `workerOptionsSchema`): a field
 * here is that schema's field under the flag's name, so no default is written twice.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { ServerOptionsSchema, type ServerOptionsInput } from '../server/options';
import { DEFAULT_DATA_DIR } from '../queue/embedded-env';
import { handlerScriptError } from '../webhooks/handler-scripts';
import { parseSecretList } from '../webhooks/secrets';
import { workerOptionsSchema } from '../worker/options';
import { FlagError, type CircleFlag, type FlagSpec } from './options';

const S = ServerOptionsSchema.shape;
const W = workerOptionsSchema.shape;

const circleSchema = z.object({ pk: z.string(), initScript: z.string().optional() });

/** `-k` values (flags, environment or config file together), one per key. */
const circleList = z
  .array(circleSchema)
  .superRefine((circles, ctx) => {
    const inits = new Map<string, string>();
    for (const c of circles) {
      const prev = c.initScript === undefined ? undefined : inits.get(c.pk);
      if (prev !== undefined && prev !== c.initScript) {
        ctx.addIssue({ code: 'custom', message: `circle ${c.pk} given twice with different init scripts` });
      }
      if (c.initScript !== undefined) inits.set(c.pk, c.initScript);
    }
  })
  .transform((circles): CircleFlag[] => {
    const seen = new Map<string, CircleFlag>();
    for (const c of circles) if (!seen.get(c.pk)?.initScript) seen.set(c.pk, c);
    return [...seen.values()];
  });

const NO_INIT = 'init scripts (pk:init.rhai) are run by circles-launcher; give plain keys';

const circleFlag = (description: string, defaultText?: string, arg = '<pk[:init.rhai]>'): FlagSpec => ({
  key: 'circles',
  flags: `-k, --circle ${arg}`,
  kind: 'circles',
  env: ['CIRCLES_CIRCLES'],
  description: `${description}; repeatable, -c is an alias`,
  defaultText,
});

const flag = (
  key: string,
  flags: string,
  kind: FlagSpec['kind'],
  description: string,
  more = {},
): FlagSpec => ({
  key,
  flags,
  kind,
  description,
  ...more,
});

/** Flags of the commands that run a server (circles-server, circles-launcher). */
const SERVER_FLAGS: readonly FlagSpec[] = [
  flag('host', '--host <host>', 'string', 'address to listen on'),
  flag('port', '--port <port>', 'int', 'port to listen on (0 = any free port)'),
  flag('auth', '--auth', 'boolean', 'play requires an authenticated session'),
  flag('tls', '--tls', 'boolean', 'serve wss:// (needs --cert and --key)'),
  flag('cert', '--cert <pem>', 'path', 'TLS certificate file'),
  flag('key', '--key <pem>', 'path', 'TLS private key file'),
  flag(
    'transport',
    '--transport <name>',
    'choice',
    'WebSocket implementation (auto: uWebSockets.js, else ws)',
  ),
  flag('playTimeout', '--play-timeout <ms>', 'int', 'answer -32003 when a play takes longer'),
  flag('maxFrame', '--max-frame <bytes>', 'int', 'largest accepted WebSocket frame (larger: close 1009)'),
  flag('maxInflight', '--max-inflight <n>', 'int', 'plays one session may have in flight'),
  flag('maxRate', '--max-rate <n>', 'int', 'requests per second one session may make (0 = no limit)'),
  flag('maxBatch', '--max-batch <n>', 'int', 'most requests in one JSON-RPC batch (1..100000)'),
  flag(
    'maxHandshakes',
    '--max-handshakes <n>',
    'int',
    'upgrades waiting, and logins being verified, at most this many each (beyond: 503 / -32005)',
  ),
  flag('drainTimeout', '--drain-timeout <ms>', 'int', 'how long a graceful stop waits for in-flight work'),
  flag(
    'lameduck',
    '--lameduck <ms>',
    'int',
    'on a stop signal, keep serving this long with /readyz answering 503 before draining',
  ),
  flag('taskTtl', '--task-ttl <seconds>', 'int', 'lifetime of a finished task hash'),
  flag('sessionTtl', '--session-ttl <seconds>', 'int', 'lifetime of a resume token (at most 31 days)'),
  flag(
    'sessionSecret',
    '--session-secret <secret>',
    'string',
    'HMAC key of resume tokens, at least 32 characters; give servers behind one load balancer the same one (prefer the environment variable: flags show in ps)',
    { secret: true, defaultText: 'random per process: tokens do not survive a restart' },
  ),
  flag('logLevel', '--log-level <level>', 'choice', 'log level'),
  flag(
    'logFormat',
    '--log-format <format>',
    'choice',
    'logs on stderr (auto: pretty on a terminal, else JSON)',
  ),
  flag('stripeSecret', '--stripe-secret <list>', 'secrets', 'Stripe signing secrets, comma-separated', {
    env: ['CIRCLES_STRIPE_SECRET', 'STRIPE_WEBHOOK_SECRET'],
    secret: true,
  }),
  flag('idenfySecret', '--idenfy-secret <list>', 'secrets', 'iDenfy signing secrets, comma-separated', {
    env: ['CIRCLES_IDENFY_SECRET', 'IDENFY_WEBHOOK_SECRET'],
    secret: true,
  }),
  flag('stripeHandler', '--stripe-handler <file.rhai>', 'path', 'script run for each Stripe event', {
    defaultText: 'record the event in the circle store',
  }),
  flag('idenfyHandler', '--idenfy-handler <file.rhai>', 'path', 'script run for each iDenfy result', {
    defaultText: 'record the result in the circle store',
  }),
];

const serverFields = {
  circles: circleList.default([]),
  host: S.host,
  port: S.port,
  auth: S.auth,
  tls: z.boolean().default(false),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  transport: S.transport,
  playTimeout: S.playTimeoutMs,
  maxFrame: S.maxFrameBytes,
  maxInflight: S.maxInflight,
  maxRate: S.maxRequestsPerSecond,
  maxBatch: S.maxBatch,
  maxHandshakes: S.maxHandshakes,
  drainTimeout: S.drainTimeoutMs,
  lameduck: S.lameduckMs,
  taskTtl: S.taskTtlSeconds,
  sessionTtl: S.sessionTtlSeconds,
  sessionSecret: S.sessionSecret,
  logLevel: S.logLevel,
  logFormat: S.logFormat,
  stripeSecret: z.string().optional(),
  idenfySecret: z.string().optional(),
  stripeHandler: z.string().min(1).optional(),
  idenfyHandler: z.string().min(1).optional(),
};

/** TLS needs both files, and the files need TLS. */
function tlsRule(v: { tls: boolean; cert?: string; key?: string }, ctx: z.RefinementCtx): void {
  if (v.tls && (!v.cert || !v.key)) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'needs both --cert <pem> and --key <pem>' });
  }
  if (!v.tls) {
    for (const k of ['cert', 'key'] as const) {
      if (v[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'is given without --tls' });
    }
  }
}

export const serverSchema = z
  .object({ ...serverFields, redisUrl: S.redisUrl, playground: S.playground })
  .strict()
  .superRefine(tlsRule)
  .superRefine((v, ctx) => {
    if (v.circles.some((c) => c.initScript))
      ctx.addIssue({ code: 'custom', path: ['circles'], message: NO_INIT });
  });
export type ServerFlags = z.output<typeof serverSchema>;

/** `--playground` / `--no-playground`; each command has its own default. */
const playgroundFlag = (more = {}): FlagSpec =>
  flag('playground', '--playground', 'boolean', 'serve the playground page on GET /', {
    negatable: true,
    ...more,
  });

export const SERVER_COMMAND_FLAGS: readonly FlagSpec[] = [
  circleFlag('serve this circle', 'any valid key (development mode)'),
  flag('redisUrl', '--redis-url <url>', 'string', 'Redis task backend URL'),
  ...SERVER_FLAGS,
  playgroundFlag({ defaultText: 'on in development mode (no -k), else off' }),
];

const dataDir = z.string().min(1).default(DEFAULT_DATA_DIR);

export const launcherSchema = z
  .object({
    ...serverFields,
    redisUrl: S.redisUrl.unwrap().optional(),
    concurrency: W.concurrency,
    dataDir,
    storeQuota: W.storeQuotaBytes,
    fsync: z.boolean().default(false),
    playground: z.boolean().default(true),
    tracePlays: z.string().min(1).optional(),
  })
  .strict()
  .superRefine(tlsRule);
export type LauncherFlags = z.output<typeof launcherSchema>;

export const LAUNCHER_FLAGS: readonly FlagSpec[] = [
  circleFlag('serve this circle, running init.rhai once at start', 'a generated development circle'),
  flag('redisUrl', '--redis-url <url>', 'string', 'Redis task backend URL', {
    defaultText: 'none: the embedded database under --data-dir',
  }),
  ...SERVER_FLAGS,
  playgroundFlag(),
  flag('concurrency', '--concurrency <n>', 'int', 'script threads shared by all circles', {
    defaultText: 'available CPUs',
  }),
  flag('dataDir', '--data-dir <dir>', 'path', 'where the embedded database lives (without --redis-url)'),
  flag(
    'storeQuota',
    '--store-quota <bytes>',
    'int',
    "most bytes (keys + values) one circle's store may hold",
  ),
  flag(
    'fsync',
    '--fsync',
    'boolean',
    'embedded database: answer plays and webhooks only once flushed to the device, which survives power loss (without it: once committed, which survives the process being killed)',
  ),
  flag(
    'tracePlays',
    '--trace-plays <file>',
    'path',
    "diagnostic: time each play's stages (session, dispatcher, submit, take, script, result, reply) and write their percentiles to <file> as JSON at stop",
  ),
];

export const backupSchema = z.object({ dataDir }).strict();
export const BACKUP_FLAGS: readonly FlagSpec[] = [
  flag('dataDir', '--data-dir <dir>', 'path', 'the database to copy'),
];

export const workerSchema = z
  .object({
    circles: circleList.default([]),
    redisUrl: W.redisUrl,
    workerId: W.workerId,
    concurrency: W.concurrency,
    taskTtl: W.taskTtlSeconds,
    playTimeout: W.playTimeoutMs,
    drainTimeout: W.drainTimeoutMs,
    storeQuota: W.storeQuotaBytes,
    metricsPort: W.metricsPort,
    metricsHost: W.metricsHost,
    logLevel: W.logLevel,
    logFormat: W.logFormat,
    namespace: W.namespace,
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.circles.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'at least one circle is required (-k, CIRCLES_CIRCLES or "circles" in --config)',
      });
    }
    if (v.circles.some((c) => c.initScript)) {
      ctx.addIssue({ code: 'custom', path: ['circles'], message: NO_INIT });
    }
  });
export type WorkerFlags = z.output<typeof workerSchema>;

export const WORKER_FLAGS: readonly FlagSpec[] = [
  circleFlag('serve this circle', undefined, '<pk>'),
  flag('redisUrl', '--redis-url <url>', 'string', 'Redis task backend URL'),
  flag('workerId', '--worker-id <id>', 'string', 'worker id, unique among live workers', {
    defaultText: '<hostname>-<pid>',
  }),
  flag('concurrency', '--concurrency <n>', 'int', 'script threads', { defaultText: 'available CPUs' }),
  flag('taskTtl', '--task-ttl <seconds>', 'int', 'lifetime of a finished task hash'),
  flag('playTimeout', '--play-timeout <ms>', 'int', 'wall-clock budget of one script'),
  flag('drainTimeout', '--drain-timeout <ms>', 'int', 'time to finish running scripts on stop'),
  flag(
    'storeQuota',
    '--store-quota <bytes>',
    'int',
    "most bytes (keys + values) one circle's store may hold",
  ),
  flag(
    'metricsPort',
    '--metrics-port <port>',
    'int',
    'serve /metrics, /livez and /readyz over HTTP on this port (0 = any free port)',
    {
      defaultText: 'none: no HTTP server',
    },
  ),
  flag('metricsHost', '--metrics-host <host>', 'string', 'address of the metrics HTTP server'),
  flag('logLevel', '--log-level <level>', 'choice', 'log level'),
  flag(
    'logFormat',
    '--log-format <format>',
    'choice',
    'logs on stderr (auto: pretty on a terminal, else JSON)',
  ),
  // Prefix of every Redis key: lets specs share one redis-server; not for operators.
  flag('namespace', '--namespace <prefix>', 'string', 'Redis key prefix', { hidden: true }),
];

function readHandler(flagName: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlagError(
      `cannot read ${flagName} file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (source.trim() === '') throw new FlagError(`${flagName} file ${file} is empty`);
  const error = handlerScriptError(`${flagName} ${file}`, source);
  if (error) throw new FlagError(error);
  return source;
}

/**
 * The server options of circles-server and circles-launcher (circles and the backend URL
 * are each command's own business); webhook handler scripts read and parse-checked.
 */
export function serverOptionsOf(
  v: ServerFlags | LauncherFlags,
): Omit<ServerOptionsInput, 'circles' | 'redisUrl'> {
  return {
    host: v.host,
    port: v.port,
    auth: v.auth,
    tls: v.tls ? { cert: v.cert!, key: v.key! } : undefined,
    transport: v.transport,
    playTimeoutMs: v.playTimeout,
    maxFrameBytes: v.maxFrame,
    maxInflight: v.maxInflight,
    maxRequestsPerSecond: v.maxRate,
    maxBatch: v.maxBatch,
    maxHandshakes: v.maxHandshakes,
    drainTimeoutMs: v.drainTimeout,
    lameduckMs: v.lameduck,
    taskTtlSeconds: v.taskTtl,
    sessionTtlSeconds: v.sessionTtl,
    sessionSecret: v.sessionSecret,
    logLevel: v.logLevel,
    logFormat: v.logFormat,
    stripeSecrets: parseSecretList(v.stripeSecret),
    idenfySecrets: parseSecretList(v.idenfySecret),
    stripeHandler: readHandler('--stripe-handler', v.stripeHandler),
    idenfyHandler: readHandler('--idenfy-handler', v.idenfyHandler),
    playground: v.playground,
  };
}
