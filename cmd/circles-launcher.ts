#!/usr/bin/env node
import { Command, Option } from 'commander';
import { start, stop } from 'nact';
import { generateKeyPair } from '../auth/keys';
import { launchCircles, type LaunchCircle } from '../launcher/launch';
import { DEFAULT_DATA_DIR } from '../queue/embedded-env';
import { createLogger } from '../log';
import {
  addCommonFlags,
  addWebhookFlags,
  circlesOf,
  intFlag,
  serverOptionsOf,
  type CommonFlagValues,
  type WebhookFlagValues,
} from './flags';
import { onShutdownSignals, runCommand } from './run-command';
import { STORE_LIMITS } from '../queue/worker-backend';

const STORE_QUOTA = STORE_LIMITS.defaultQuotaBytes;

const program = addWebhookFlags(addCommonFlags(new Command('circles-launcher')))
  .description(
    'One Circles server and one script worker (one thread pool) for all circles; embedded database unless --redis-url',
  )
  .option(
    '--concurrency <n>',
    'script threads shared by all circles (default: available CPUs)',
    intFlag(1, 256),
  )
  .addOption(
    new Option('--data-dir <dir>', 'where the embedded backend keeps its database (without --redis-url)')
      .env('CIRCLES_DATA_DIR')
      .default(DEFAULT_DATA_DIR),
  )
  .option(
    '--store-quota <bytes>',
    "most bytes (keys + values) one circle's store may hold",
    intFlag(0),
    STORE_QUOTA,
  )
  .option(
    '--fsync',
    'embedded database: answer plays and webhooks only once flushed to the device (survives power loss; default: once committed, which survives the process being killed)',
    false,
  )
  .version('0.1.0');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

void runCommand(program, async (p) => {
  const v = p.opts<
    CommonFlagValues &
      WebhookFlagValues & { concurrency?: number; dataDir: string; storeQuota: number; fsync: boolean }
  >();
  let circles: LaunchCircle[] = circlesOf(v);
  const logger = createLogger(v.logLevel, 'circles-launcher');
  if (circles.length === 0) {
    const dev = generateKeyPair().publicKey;
    circles = [{ pk: dev }];
    process.stdout.write(`no -k given: generated a development circle ${dev}\n`);
  }
  const system = start();
  const launched = await launchCircles(system, {
    circles,
    redisUrl: v.redisUrl,
    dataDir: v.dataDir,
    storeQuotaBytes: v.storeQuota,
    fsync: v.fsync,
    concurrency: v.concurrency,
    logger,
    server: serverOptionsOf(v),
  });
  onShutdownSignals(async () => {
    await launched.stop();
    stop(system);
  });
  const url = launched.server.url;
  process.stdout.write(
    `${table([
      ['circle', 'websocket url', 'backend'],
      ...circles.map((c) => [c.pk, `${url}/${c.pk}`, launched.backend]),
    ])}\nlistening on ${url}\n`,
  );
});
