#!/usr/bin/env node
import fs from 'node:fs';
import { start, stop } from 'nact';
import { generateKeyPair } from '../auth/keys';
import { playgroundEnabled } from '../server/options';
import { launchCircles, type LaunchCircle } from '../launcher/launch';
import { createLogger } from '../log';
import { recordPlayStages } from '../play-trace';
import { LAUNCHER_FLAGS, launcherSchema, serverOptionsOf } from './flags';
import { redactUrl } from './options';
import { onShutdownSignals, runCommand } from './run-command';

/**
 * What the launcher serves, for a human on an 80-column terminal: a key (66 characters) per
 * line, and the URL pattern once (a full circle URL is longer than 80 columns).
 */
function startupLines(
  circles: readonly LaunchCircle[],
  url: string,
  backend: string,
  transport: string,
  playground: boolean,
): string[] {
  // The page is plain HTTP(S) on the same port: what a newcomer opens in a browser (it
  // offers the served circles itself, from GET /circles).
  const page = `${url.replace(/^ws/, 'http')}/`;
  return [
    ...circles.map((c) => `circle     ${c.pk}`),
    `url        ${url}/<circle>`,
    ...(playground ? [`playground ${page}`] : []),
    `backend    ${redactUrl(backend)}`,
    `transport  ${transport}`,
    `listening on ${url}`,
  ];
}

void runCommand(
  {
    name: 'circles-launcher',
    description:
      'One Circles server and one script worker (one thread pool) for all circles; embedded database unless --redis-url',
    flags: LAUNCHER_FLAGS,
    schema: launcherSchema,
  },
  async (v) => {
    const server = serverOptionsOf(v);
    const logger = createLogger(v.logLevel, 'circles-launcher', v.logFormat);
    let circles: LaunchCircle[] = v.circles;
    if (circles.length === 0) {
      circles = [{ pk: generateKeyPair().publicKey }];
      process.stdout.write('no -k given: serving a generated development circle\n');
    }
    // Server and worker share this process, so every stage of a play is on one clock.
    const trace = v.tracePlays ? { file: v.tracePlays, recorder: recordPlayStages() } : undefined;
    const system = start();
    const launched = await launchCircles(system, {
      circles,
      redisUrl: v.redisUrl,
      dataDir: v.dataDir,
      storeQuotaBytes: v.storeQuota,
      fsync: v.fsync,
      concurrency: v.concurrency,
      logger,
      server,
    });
    onShutdownSignals(async () => {
      await launched.stop();
      if (trace) fs.writeFileSync(trace.file, `${JSON.stringify(trace.recorder.breakdown(), null, 2)}\n`);
      stop(system);
    });
    process.stdout.write(
      `${startupLines(
        circles,
        launched.server.url,
        launched.backend,
        launched.server.transport,
        playgroundEnabled(launched.server.options),
      ).join('\n')}\n`,
    );
  },
);
