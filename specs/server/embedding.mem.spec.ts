import { randomUUID } from 'node:crypto';
import { dispatch, query, spawn, start, stop, type Ref } from 'nact';
import {
  EmbeddedTaskBackend,
  RpcErrorCode,
  ServerOptionsSchema,
  silentLogger,
  spawnCircleServer,
  startWorker,
  type PlayResultMsg,
} from '../../index';
import { RpcClient } from '../support/rpc-client';
import { until } from '../support/until';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';

type HostMsg =
  { type: 'ask'; replyTo: Ref<string> } | PlayResultMsg | { type: 'results'; replyTo: Ref<PlayResultMsg[]> };

describe('embedding the gateway in a host nact application', () => {
  it('runs under a host actor, takes plays from host actors, and stops without stopping the host', async () => {
    const system = start();
    // the host's own actor: answers questions and collects play results sent to it
    const host = spawn(
      system,
      (results: PlayResultMsg[], msg: HostMsg): PlayResultMsg[] => {
        if (msg.type === 'ask') dispatch(msg.replyTo, 'host alive');
        else if (msg.type === 'play-result') results.push(msg);
        else dispatch(msg.replyTo, results);
        return results;
      },
      'host-app',
      { initialState: [] as PlayResultMsg[] },
    );
    // the embedded database in a temporary directory (the opt-in for embedding and specs)
    const embedded = await EmbeddedTaskBackend.temporary();
    const logger = silentLogger();
    const worker = await startWorker(
      { circles: [CIRCLE], concurrency: 1 },
      { logger, backend: embedded.worker({ workerId: 'embedded-1', circles: [CIRCLE], taskTtlS: 60 }) },
    );
    const server = await spawnCircleServer(
      host,
      { port: 0, circles: [CIRCLE], logLevel: 'silent' },
      {
        logger,
        backend: embedded.dispatch(),
      },
    );
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);

    // a host actor dispatches a play itself, through the exported dispatcher
    const taskId = randomUUID();
    dispatch(server.dispatcher, {
      type: 'play',
      taskId,
      script: '6 * 7',
      callerId: 'host-app',
      contextId: CIRCLE,
      replyTo: host,
    });
    const results = await until(
      async () => {
        const got = await query(
          host,
          (replyTo: Ref<PlayResultMsg[]>) => ({ type: 'results' as const, replyTo }),
          1000,
        );
        return got.length > 0 ? got : undefined;
      },
      'the play result at the host actor',
      5000,
    );
    expect(results).toEqual([{ type: 'play-result', taskId, outcome: { ok: true, output: '42' } }]);

    // WebSocket clients work as usual
    const c = await RpcClient.connect(`${server.url}/${CIRCLE}`);
    expect((await c.call('play', ['CALLER_ID'])).output).toBe('anonymous');

    await server.stop();
    await server.stop(); // idempotent
    expect((await c.closed).code).toBe(1001);
    await expect(RpcClient.connect(`${server.url}/${CIRCLE}`)).rejects.toBeDefined();
    // the host system and its actor live on
    await expect(
      query(host, (replyTo: Ref<string>) => ({ type: 'ask' as const, replyTo }), 1000),
    ).resolves.toBe('host alive');
    await worker.stop();
    await embedded.close();
    stop(system);
  });

  it('exports the options schema and error codes by name', () => {
    expect(ServerOptionsSchema.parse({}).port).toBe(8443);
    expect(RpcErrorCode.TooManyRequests).toBe(-32005);
  });
});
