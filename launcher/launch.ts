import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Ref } from 'nact';
import { spawnCircleServer, type CircleServerHandle } from '../server/circle-server';
import { ServerOptionsSchema, type ServerOptionsInput } from '../server/options';
import type { Logger } from '../log';
import type { DispatchBackend } from '../queue/dispatch-backend';
import { EmbeddedTaskBackend } from '../queue/embedded-backend';
import { DEFAULT_DATA_DIR } from '../queue/embedded-env';
import { createRedisDispatch } from '../queue/redis-dispatch';
import { startWorker, type WorkerHandle } from '../worker';
import { runInitScripts, type InitScript } from './init-scripts';

export interface LaunchCircle {
  readonly pk: string;
  readonly initScript?: string;
}

export interface LaunchOptions {
  readonly circles: readonly LaunchCircle[];
  /** Redis task backend; absent = the embedded database (see `dataDir`). */
  readonly redisUrl?: string;
  /**
   * Where the embedded database keeps circle stores, queued tasks and webhook markers
   * (default `./circles-data`); ignored with `redisUrl`.
   */
  readonly dataDir?: string;
  /** Opt-in: keep the embedded data in a temporary directory removed at stop (specs, demos). */
  readonly temporaryData?: boolean;
  /** Most bytes one circle's store may hold (default 1 GiB). */
  readonly storeQuotaBytes?: number;
  /** Embedded database: acknowledge only once flushed to the device (see EmbeddedBackendOptions). */
  readonly fsync?: boolean;
  /** Script threads of the one worker that serves every circle (default: the CPUs). */
  readonly concurrency?: number;
  /** Everything else the server takes (host, port, auth, limits, webhooks...). */
  readonly server: Omit<ServerOptionsInput, 'circles' | 'redisUrl'>;
  readonly logger: Logger;
  /** Redis key namespace (specs). */
  readonly namespace?: string;
}

export interface Launched {
  readonly server: CircleServerHandle;
  readonly workers: readonly WorkerHandle[];
  /** `embedded (<data dir>)`, `embedded (temporary)` or the Redis URL. */
  readonly backend: string;
  /** Drain the server, then stop the workers. Idempotent. */
  stop(): Promise<void>;
}

/**
 * One server and one worker for all circles (SPEC §6), on Redis or on the embedded
 * database. Init scripts run before the server listens; a failure stops the start.
 */
export async function launchCircles(system: Ref<unknown>, o: LaunchOptions): Promise<Launched> {
  const pks = o.circles.map((c) => c.pk);
  // Defaults come from the schema (written once there); the worker gets the same values.
  const serverOptions = ServerOptionsSchema.parse({
    ...o.server,
    circles: pks,
    ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}),
  });
  const { playTimeoutMs, taskTtlSeconds: taskTtlS } = serverOptions;
  const inits: InitScript[] = o.circles
    .filter((c) => c.initScript)
    .map((c) => ({ circle: c.pk, file: c.initScript!, source: readScript(c.initScript!) }));
  const embedded = o.redisUrl
    ? undefined
    : o.temporaryData
      ? await EmbeddedTaskBackend.temporary({ logger: o.logger, storeQuotaBytes: o.storeQuotaBytes })
      : await EmbeddedTaskBackend.open({
          dataDir: path.resolve(o.dataDir ?? DEFAULT_DATA_DIR),
          logger: o.logger,
          storeQuotaBytes: o.storeQuotaBytes,
          waitForFlush: o.fsync,
        });
  const newChannel = (): DispatchBackend =>
    embedded
      ? embedded.dispatch()
      : createRedisDispatch({ url: o.redisUrl!, namespace: o.namespace, logger: o.logger });

  const workers: WorkerHandle[] = [];
  const stopWorkers = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.stop()));
    await embedded?.close();
  };
  try {
    // One worker and one thread pool for all circles, taking fairly across them: a pool per
    // circle would cost threads and memory per circle and leave busy circles short of CPU.
    const workerId = `${os.hostname()}-${process.pid}`;
    workers.push(
      await startWorker(
        {
          circles: pks,
          redisUrl: o.redisUrl,
          namespace: o.namespace,
          workerId,
          concurrency: o.concurrency,
          taskTtlSeconds: taskTtlS,
          playTimeoutMs,
          drainTimeoutMs: serverOptions.drainTimeoutMs,
          logLevel: serverOptions.logLevel,
          logFormat: serverOptions.logFormat,
          storeQuotaBytes: o.storeQuotaBytes,
        },
        {
          logger: o.logger.child({ part: 'worker' }),
          backend: embedded?.worker({ workerId, circles: pks, taskTtlS }),
        },
      ),
    );
    if (inits.length) {
      await runInitScripts(newChannel(), inits, playTimeoutMs, Math.ceil(playTimeoutMs / 1000) + taskTtlS);
    }
    const server = await spawnCircleServer(system, serverOptions, {
      logger: o.logger,
      backend: newChannel(),
    });
    // The worker runs in this process: its series are served on the gateway's /metrics.
    for (const worker of workers) server.metrics.include(worker.metrics);
    let stopped: Promise<void> | undefined;
    return {
      server,
      workers,
      backend: o.redisUrl ?? embeddedDescription(embedded!),
      stop() {
        stopped ??= server.stop().then(stopWorkers);
        return stopped;
      },
    };
  } catch (err) {
    await stopWorkers();
    throw err;
  }
}

function embeddedDescription(db: EmbeddedTaskBackend): string {
  return db.temporary ? 'embedded (temporary)' : `embedded (${db.dataDir})`;
}

function readScript(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`cannot read init script ${file}`);
  }
}
