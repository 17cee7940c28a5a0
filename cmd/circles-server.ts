#!/usr/bin/env node
import { Command } from 'commander';
import { start, stop } from 'nact';
import { spawnCircleServer } from '../actors/circle-server';
import { createLogger } from '../log';
import {
  addCommonFlags,
  addWebhookFlags,
  circlesOf,
  FlagError,
  serverOptionsOf,
  type CommonFlagValues,
  type WebhookFlagValues,
} from './flags';
import { onShutdownSignals, runCommand } from './run-command';

const program = addWebhookFlags(addCommonFlags(new Command('circles-server')))
  .description('The Circles WebSocket gateway alone (workers run elsewhere, through Redis)')
  .version('0.1.0');

void runCommand(program, async (p) => {
  const v = p.opts<CommonFlagValues & WebhookFlagValues>();
  const circles = circlesOf(v);
  if (circles.some((c) => c.initScript)) {
    throw new FlagError(
      'init scripts (pk:init.rhai) are run by circles-launcher; pass plain keys to circles-server',
    );
  }
  const logger = createLogger(v.logLevel, 'circles-server');
  const system = start();
  const server = await spawnCircleServer(
    system,
    {
      ...serverOptionsOf(v),
      circles: circles.map((c) => c.pk),
      redisUrl: v.redisUrl ?? 'redis://127.0.0.1:6379',
    },
    { logger },
  );
  onShutdownSignals(async () => {
    await server.stop();
    stop(system);
  });
  process.stdout.write(`listening on ${server.url}\n`);
});
