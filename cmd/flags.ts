import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { normalizePubkey } from '../auth/keys';
import type { ServerOptionsInput } from '../config';
import { LOG_LEVELS } from '../log';
import { handlerScriptError } from '../webhooks/handler-scripts';
import { parseSecretList } from '../webhooks/secrets';

/** A `-k pk[:init.rhai]` flag after normalisation. */
export interface CircleFlag {
  readonly pk: string;
  readonly initScript?: string;
}

/** Raised for a flag value that cannot work; the message is the one line printed. */
export class FlagError extends Error {}

export function parseCircleFlag(value: string): CircleFlag {
  const sep = value.indexOf(':');
  const keyText = sep >= 0 ? value.slice(0, sep) : value;
  const initScript = sep >= 0 ? value.slice(sep + 1) : undefined;
  const pk = normalizePubkey(keyText);
  if (!pk) throw new InvalidArgumentError(`'${keyText}' is not a secp256k1 public key (66 or 130 hex chars)`);
  if (initScript !== undefined && initScript.length === 0)
    throw new InvalidArgumentError('empty init script path after ":"');
  return { pk, initScript };
}

const collect = (value: string, previous: CircleFlag[] = []): CircleFlag[] => [
  ...previous,
  parseCircleFlag(value),
];

export function intFlag(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got '${value}'`);
    const n = Number(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

/** Flags every Circles command shares (SPEC §6). */
export function addCommonFlags(cmd: Command): Command {
  return cmd
    .option('-k, --circle <pk[:init.rhai]>', 'serve this circle (repeatable); optional init script', collect)
    .addOption(new Option('-c <pk[:init.rhai]>', 'alias of --circle').argParser(collect).hideHelp())
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', intFlag(0, 65535), 8443)
    .option('--redis-url <url>', 'Redis task backend URL')
    .option('--auth', 'play requires an authenticated session', false)
    .option('--tls', 'serve wss:// (needs --cert and --key)', false)
    .option('--cert <pem>', 'TLS certificate file')
    .option('--key <pem>', 'TLS private key file')
    .option('--play-timeout <ms>', 'answer -32003 when a play takes longer', intFlag(1), 30000)
    .option(
      '--max-frame <bytes>',
      'largest accepted WebSocket frame (larger: close 1009)',
      intFlag(1),
      1024 * 1024,
    )
    .option('--max-inflight <n>', 'plays one session may have in flight', intFlag(1), 64)
    .option('--max-rate <n>', 'requests per second one session may make (0 = no limit)', intFlag(0), 0)
    .option('--drain-timeout <ms>', 'how long a graceful stop waits for in-flight work', intFlag(0), 10000)
    .option('--task-ttl <seconds>', 'lifetime of a finished task hash', intFlag(1), 86400)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'));
}

/** The circles of `-k` and `-c` together, without duplicates. */
export function circlesOf(opts: { circle?: CircleFlag[]; c?: CircleFlag[] }): CircleFlag[] {
  const seen = new Map<string, CircleFlag>();
  for (const f of [...(opts.circle ?? []), ...(opts.c ?? [])]) {
    const prev = seen.get(f.pk);
    if (prev?.initScript && f.initScript && prev.initScript !== f.initScript) {
      throw new FlagError(`circle ${f.pk} given twice with different init scripts`);
    }
    seen.set(f.pk, prev?.initScript ? prev : f);
  }
  return [...seen.values()];
}

export interface CommonFlagValues {
  circle?: CircleFlag[];
  c?: CircleFlag[];
  host: string;
  port: number;
  redisUrl?: string;
  auth: boolean;
  tls: boolean;
  cert?: string;
  key?: string;
  playTimeout: number;
  maxFrame: number;
  maxInflight: number;
  maxRate: number;
  drainTimeout: number;
  taskTtl: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Checks combinations commander cannot: TLS needs both files, and files need --tls. */
export function tlsOf(v: CommonFlagValues): { cert: string; key: string } | undefined {
  if (!v.tls) {
    if (v.cert || v.key) throw new FlagError('--cert/--key given without --tls');
    return undefined;
  }
  if (!v.cert || !v.key) throw new FlagError('--tls needs both --cert <pem> and --key <pem>');
  return { cert: v.cert, key: v.key };
}

/** Webhook flags (SPEC §5); for the commands that run a server. */
export function addWebhookFlags(cmd: Command): Command {
  return cmd
    .option(
      '--stripe-secret <list>',
      'Stripe signing secrets, comma-separated (default: $STRIPE_WEBHOOK_SECRET)',
    )
    .option(
      '--idenfy-secret <list>',
      'iDenfy signing secrets, comma-separated (default: $IDENFY_WEBHOOK_SECRET)',
    )
    .option(
      '--stripe-handler <file.rhai>',
      'script run for each Stripe event (default: record it in the circle store)',
    )
    .option(
      '--idenfy-handler <file.rhai>',
      'script run for each iDenfy result (default: record it in the circle store)',
    );
}

export interface WebhookFlagValues {
  stripeSecret?: string;
  idenfySecret?: string;
  stripeHandler?: string;
  idenfyHandler?: string;
}

function readHandler(flag: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlagError(
      `cannot read ${flag} file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (source.trim() === '') throw new FlagError(`${flag} file ${file} is empty`);
  const error = handlerScriptError(`${flag} ${file}`, source);
  if (error) throw new FlagError(error);
  return source;
}

/**
 * The webhook part of the server options: secrets from the flags, else the environment
 * (a flag given as "" disables the provider); handler scripts read and parse-checked.
 */
export function webhookOptionsOf(
  v: WebhookFlagValues,
  env: NodeJS.ProcessEnv = process.env,
): { stripeSecrets: string[]; idenfySecrets: string[]; stripeHandler?: string; idenfyHandler?: string } {
  return {
    stripeSecrets: parseSecretList(v.stripeSecret ?? env.STRIPE_WEBHOOK_SECRET),
    idenfySecrets: parseSecretList(v.idenfySecret ?? env.IDENFY_WEBHOOK_SECRET),
    stripeHandler: readHandler('--stripe-handler', v.stripeHandler),
    idenfyHandler: readHandler('--idenfy-handler', v.idenfyHandler),
  };
}

/**
 * The server options every command takes from its flags (circles and the backend URL are
 * each command's own business).
 */
export function serverOptionsOf(
  v: CommonFlagValues & WebhookFlagValues,
): Omit<ServerOptionsInput, 'circles' | 'redisUrl'> {
  return {
    host: v.host,
    port: v.port,
    auth: v.auth,
    tls: tlsOf(v),
    playTimeoutMs: v.playTimeout,
    maxFrameBytes: v.maxFrame,
    maxInflight: v.maxInflight,
    maxRequestsPerSecond: v.maxRate,
    drainTimeoutMs: v.drainTimeout,
    taskTtlSeconds: v.taskTtl,
    logLevel: v.logLevel,
    ...webhookOptionsOf(v),
  };
}
