import { ResumeTokens } from '../../auth/resume-token';
import { dispatch, spawn, start, stop, type Ref } from 'nact';
import { spawnCircleWs, type CircleWsMsg } from '../../actors/circle-ws';
import { DrainCounter } from '../../server/drain-counter';
import type { PlayMsg } from '../../actors/play-protocol';
import type { SessionConfig } from '../../actors/session';
import { silentLogger } from '../../log';
import { createMetrics } from '../../server/metrics';
import { CLOSE_REASONS, type CloseReason } from '../../transport/close-reasons';
import type { SocketPort } from '../../transport/socket-port';
import { until } from '../support/until';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';

/** A fake socket port that records what the actor did with it. */
class FakeSocketPort implements SocketPort {
  readonly writes: string[][] = [];
  closedWith: { code: number; reason: CloseReason } | undefined;
  established = false;
  private resolveClose?: () => void;
  readonly closedPromise = new Promise<void>((r) => (this.resolveClose = r));
  get closed(): boolean {
    return this.closedWith !== undefined;
  }
  send(text: string): void {
    if (!this.closed) this.writes.push([text]);
  }
  sendAll(texts: readonly string[]): void {
    if (!this.closed && texts.length) this.writes.push([...texts]);
  }
  markEstablished(): void {
    this.established = true;
  }
  closeFor(reason: CloseReason): void {
    if (this.closed) return;
    this.closedWith = { code: CLOSE_REASONS[reason].code, reason };
    this.resolveClose?.();
  }
  async waitWrites(n: number): Promise<void> {
    await until(() => this.writes.length >= n, `${n} writes`, 5000, 1);
  }
}

function config(dispatcher: Ref<PlayMsg>, overrides: Partial<SessionConfig> = {}): SessionConfig {
  return {
    requireAuth: false,
    maxInflight: 64,
    maxRequestsPerSecond: 0,
    maxFailedAuth: 5,
    nonceTtlSeconds: 300,
    maxNonces: 8,
    dispatcher,
    // a fake verifier: no signature is ever valid
    verifier: {
      verify: async () => ({ index: -1 }),
      recoverAddress: async () => ({ index: -1 }),
      pending: 0,
      close: async () => undefined,
    },
    resumeTokens: new ResumeTokens(undefined, 3600),
    tasks: { taskState: async () => null },
    metrics: createMetrics(),
    logger: silentLogger(),
    openrpc: {},
    now: () => 1_800_000_000,
    draining: () => false,
    inflight: new DrainCounter(),
    ...overrides,
  };
}

describe('CircleWs actor', () => {
  const system = start();
  afterAll(() => stop(system));
  // a dispatcher that answers every play at once with the script as output
  const dispatcher = spawn(
    system,
    (state: null, msg: PlayMsg) => {
      dispatch(msg.replyTo, {
        type: 'play-result',
        taskId: msg.taskId,
        outcome: { ok: true, output: msg.script },
      });
      return state;
    },
    'echo-dispatcher',
    { initialState: null },
  );
  let seq = 0;
  const frames = (actor: Ref<CircleWsMsg>, texts: string[]): void =>
    dispatch(actor, { type: 'frames', batch: { frames: texts, taken: false } });

  it('answers a burst of frames in one write, and later plays as they complete', async () => {
    const port = new FakeSocketPort();
    const actor = spawnCircleWs(system, `t-${++seq}`, config(dispatcher), port, CIRCLE);
    frames(actor, [
      '{"jsonrpc":"2.0","id":1,"method":"whoami"}',
      '{"jsonrpc":"2.0","id":2,"method":"play","params":["p"]}',
      '{"jsonrpc":"2.0","id":3,"method":"whoami"}',
    ]);
    await port.waitWrites(2);
    expect(port.writes[0]!.map((t) => JSON.parse(t).id)).toEqual([1, 3]);
    expect(JSON.parse(port.writes[1]![0]!)).toMatchObject({ id: 2, result: { output: 'p' } });
    stop(actor);
  });

  it('a method that throws answers -32603 and the session goes on', async () => {
    const port = new FakeSocketPort();
    const actor = spawnCircleWs(
      system,
      `t-${++seq}`,
      config(dispatcher, {
        now: () => {
          throw new Error('clock exploded');
        },
      }),
      port,
      CIRCLE,
    );
    frames(actor, [
      `{"jsonrpc":"2.0","id":1,"method":"fetch_nonce","params":["${CIRCLE}"]}`,
      '{"jsonrpc":"2.0","id":2,"method":"whoami"}',
    ]);
    await port.waitWrites(1);
    expect(port.writes[0]!.map((t) => JSON.parse(t))).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error' } },
      expect.objectContaining({ id: 2, result: expect.objectContaining({ circle: CIRCLE }) }),
    ]);
    expect(port.closed).toBe(false);
    stop(actor);
  });

  it('a crash of the actor closes only its own socket with 1011', async () => {
    const healthy = new FakeSocketPort();
    const doomed = new FakeSocketPort();
    const ok = spawnCircleWs(system, `t-${++seq}`, config(dispatcher), healthy, CIRCLE);
    const bad = spawnCircleWs(system, `t-${++seq}`, config(dispatcher), doomed, CIRCLE);
    // a message the protocol never sends: the handler fails outside any request
    dispatch(bad, { type: 'frames', batch: null } as unknown as CircleWsMsg);
    await doomed.closedPromise;
    expect(doomed.closedWith).toEqual({ code: 1011, reason: 'crash' });
    frames(ok, ['{"jsonrpc":"2.0","id":9,"method":"whoami"}']);
    await healthy.waitWrites(1);
    expect(JSON.parse(healthy.writes[0]![0]!)).toMatchObject({ id: 9, result: { circle: CIRCLE } });
    expect(healthy.closed).toBe(false);
    stop(ok);
  });

  it('a checked signature is answered through newcomerWork, when the lane runs it', async () => {
    const port = new FakeSocketPort();
    const held: (() => void)[] = [];
    const actor = spawnCircleWs(
      system,
      `t-${++seq}`,
      config(dispatcher, { newcomerWork: (run) => held.push(run) }),
      port,
      CIRCLE,
    );
    frames(actor, [`{"jsonrpc":"2.0","id":1,"method":"fetch_nonce","params":["${CIRCLE}"]}`]);
    await port.waitWrites(1);
    frames(actor, [
      `{"jsonrpc":"2.0","id":2,"method":"authenticate","params":["${CIRCLE}","0x${'11'.repeat(64)}1b"]}`,
    ]);
    await until(() => held.length === 1, 'the check handed to newcomerWork', 2000, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(port.writes).toHaveLength(1); // no answer until the lane runs the continuation
    held[0]!();
    await port.waitWrites(2);
    expect(JSON.parse(port.writes[1]![0]!)).toMatchObject({ id: 2, error: { code: -32002 } });
    stop(actor);
  });

  it('stopping the actor releases its plays from the drain counter', async () => {
    const port = new FakeSocketPort();
    const inflight = new DrainCounter();
    const silent = spawn(system, (s: null) => s, 'silent-dispatcher', { initialState: null });
    const actor = spawnCircleWs(system, `t-${++seq}`, config(silent, { inflight }), port, CIRCLE);
    frames(actor, ['{"jsonrpc":"2.0","id":1,"method":"play","params":["x"]}']);
    await until(() => inflight.size > 0, 'the play in flight', 2000, 2);
    expect(inflight.size).toBe(1);
    stop(actor);
    await expect(inflight.waitIdle(2000)).resolves.toBe(true);
  });
});
