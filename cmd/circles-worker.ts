#!/usr/bin/env node
/**
 * circles-worker: runs Rhai scripts queued in Redis for the given circles (SPEC §4, §6).
 * Prints `worker ready` on stdout once taking tasks; logs go to stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { createLogger, LOG_LEVELS } from '../log';
import { parseWorkerOptions, startWorker, type WorkerHandle, type WorkerOptionsInput } from '../worker';

/** Option fields as the flags that set them, so errors name what the operator typed. */
const FLAG_OF: Record<string, string> = {
  circles: '--circle',
  redisUrl: '--redis-url',
  workerId: '--worker-id',
  concurrency: '--concurrency',
  taskTtlS: '--task-ttl',
  playTimeoutMs: '--play-timeout',
  drainTimeoutMs: '--drain-timeout',
  logLevel: '--log-level',
  storeQuotaBytes: '--store-quota',
};

function fail(message: string): never {
  process.stderr.write(`circles-worker: ${message}\n`);
  process.exit(1);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function parseFlags(argv: string[]): WorkerOptionsInput {
  const program = new Command('circles-worker')
    .description('Run Rhai scripts queued in Redis for the given circles')
    .option('-k, --circle <pk>', 'circle public key to serve (repeatable; -c is an alias)', collect)
    .addOption(new Option('-c <pk>').argParser(collect).hideHelp())
    .option('--redis-url <url>', 'Redis URL (default redis://127.0.0.1:6379)')
    .option('--worker-id <id>', 'worker id (default <hostname>-<pid>)')
    .option('--concurrency <n>', 'script threads (default: available CPUs)')
    .option('--task-ttl <seconds>', 'lifetime of a finished task hash (default 86400)')
    .option('--play-timeout <ms>', 'wall-clock budget of one script (default 30000)')
    .option('--drain-timeout <ms>', 'time to finish running scripts on stop (default 10000)')
    .option('--store-quota <bytes>', "most bytes (keys + values) one circle's store may hold (default 1 GiB)")
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(LOG_LEVELS))
    // Prefix of every Redis key: lets specs share one redis-server; not for operators.
    .addOption(new Option('--namespace <prefix>').hideHelp())
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  try {
    program.parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0); // --help, --version
      fail(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const flags = program.opts<Record<string, string | string[] | undefined>>();
  return {
    circles: [
      ...((flags.circle as string[] | undefined) ?? []),
      ...((flags.c as string[] | undefined) ?? []),
    ],
    redisUrl: flags.redisUrl as string | undefined,
    workerId: flags.workerId as string | undefined,
    concurrency: flags.concurrency as string | undefined,
    taskTtlS: flags.taskTtl as string | undefined,
    playTimeoutMs: flags.playTimeout as string | undefined,
    drainTimeoutMs: flags.drainTimeout as string | undefined,
    storeQuotaBytes: flags.storeQuota as string | undefined,
    logLevel: flags.logLevel as WorkerOptionsInput['logLevel'],
    namespace: flags.namespace as string | undefined,
  };
}

async function main(): Promise<void> {
  const input = parseFlags(process.argv);
  const checked = parseWorkerOptions(input, (field) => FLAG_OF[field] ?? field);
  if (!checked.ok) fail(checked.error);
  const logger = createLogger(checked.options.logLevel, 'worker');
  let worker: WorkerHandle;
  try {
    worker = await startWorker(checked.options, { logger });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const stop = (): void => {
    worker.stop().then(
      // Logs go through an asynchronous destination: flush them before exiting.
      () => logger.flush(() => process.exit(0)),
      (err: unknown) => fail(`stop failed: ${String(err)}`),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.write('worker ready\n');
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
