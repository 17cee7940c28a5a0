#!/usr/bin/env node
import { start, stop } from 'nact';
import { spawnCircleServer } from '../server/circle-server';
import { createLogger } from '../log';
import { SERVER_COMMAND_FLAGS, serverOptionsOf, serverSchema } from './flags';
import { onShutdownSignals, runCommand } from './run-command';

void runCommand(
  {
    name: 'circles-server',
    description: 'The Circles WebSocket gateway alone (workers run elsewhere, through Redis)',
    flags: SERVER_COMMAND_FLAGS,
    schema: serverSchema,
  },
  async (v) => {
    const options = serverOptionsOf(v);
    const logger = createLogger(v.logLevel, 'circles-server', v.logFormat);
    const system = start();
    const server = await spawnCircleServer(
      system,
      { ...options, circles: v.circles.map((c) => c.pk), redisUrl: v.redisUrl },
      { logger },
    );
    onShutdownSignals(async () => {
      await server.stop();
      stop(system);
    });
    process.stdout.write(`listening on ${server.url}\n`);
  },
);
