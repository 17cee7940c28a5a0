import { dispatch, spawn, type Ref } from 'nact';
import type { Logger } from '../log';
import { markPlay, markPlays } from '../play-trace';
import type { DispatchBackend, NewTask } from '../queue/dispatch-backend';
import { readDetail, type TaskReply } from '../queue/task';
import type { PlayMsg, PlayOutcome, PlayResultMsg } from './play-protocol';

export type { PlayMsg, PlayOutcome, PlayResultMsg } from './play-protocol';

/** What an `enqueue`'s `replyTo` receives: the task was queued, or why not. */
export type EnqueuedMsg =
  | { readonly type: 'enqueued'; readonly taskId: string; readonly ok: true }
  | { readonly type: 'enqueued'; readonly taskId: string; readonly ok: false; readonly reason: string };

/**
 * Queue a task without waiting for its result (webhooks: the HTTP answer only says the
 * event is queued). `input` is JSON object text the worker binds as `event`.
 */
export interface EnqueueMsg {
  readonly type: 'enqueue';
  readonly taskId: string;
  readonly script: string;
  readonly callerId: string;
  readonly contextId: string;
  readonly input?: string;
  readonly replyTo: Ref<EnqueuedMsg>;
}

/** Everything the ScriptDispatcher understands. */
export type DispatcherMsg =
  | PlayMsg
  | EnqueueMsg
  | { readonly type: 'replies'; readonly replies: readonly TaskReply[] }
  | { readonly type: 'flush' }
  | { readonly type: 'sweep' }
  | { readonly type: 'submit-failed'; readonly taskIds: readonly string[]; readonly reason: string };

export interface DispatcherDeps {
  backend: DispatchBackend;
  playTimeoutMs: number;
  taskTtlSeconds: number;
  logger: Logger;
}

interface Pending {
  readonly replyTo: Ref<PlayResultMsg>;
  /** performance.now() after which the play answers -32003. */
  readonly deadline: number;
}

interface State {
  /** Plays waiting for their result, in the order they started (so also by deadline). */
  readonly pending: Map<string, Pending>;
  /** Tasks to submit at the next flush, and who to tell for enqueues. */
  outbox: { task: NewTask; enqueued?: Ref<EnqueuedMsg> }[];
}

function settle(state: State, taskId: string, outcome: PlayOutcome): void {
  const p = state.pending.get(taskId);
  if (!p) return; // already answered (e.g. timed out before a late reply)
  state.pending.delete(taskId);
  dispatch(p.replyTo, { type: 'play-result', taskId, outcome });
}

/**
 * A worker's reply as a play outcome: old-shape replies (rhailib's, or an older worker's)
 * carry no detail; malformed detail is dropped (see readDetail), never trusted or thrown on.
 */
function outcomeOf(reply: TaskReply): PlayOutcome {
  const { errorKind, errorLine, errorPosition, logs } = readDetail(
    reply as unknown as Record<string, unknown>,
  );
  if (reply.status === 'completed') {
    const output = String(reply.output ?? '');
    return logs ? { ok: true, output, logs } : { ok: true, output };
  }
  const error = String(reply.error ?? 'unknown error');
  return { ok: false, kind: 'execution', error, errorKind, line: errorLine, position: errorPosition, logs };
}

const taskOf = (m: PlayMsg | EnqueueMsg): NewTask => ({
  taskId: m.taskId,
  script: m.script,
  callerId: m.callerId,
  contextId: m.contextId,
  input: m.input,
});

/**
 * The one ScriptDispatcher per server. It never awaits Redis inside its handler. Tasks
 * arriving together are submitted together: the first one queues a `flush` message behind
 * whatever is already in the mailbox, so one dispatcher turn's worth of plays costs one
 * round trip. Replies arrive in batches from the backend's single reader loop. Timeouts
 * come from one periodic sweep over the pending table (kept in start order, so the sweep
 * stops at the first play still in time) instead of a timer per play.
 */
export function spawnScriptDispatcher(
  parent: Ref<unknown>,
  name: string,
  deps: DispatcherDeps,
): Ref<DispatcherMsg> {
  const hashTtl = Math.ceil(deps.playTimeoutMs / 1000) + deps.taskTtlSeconds;
  const sweepEveryMs = Math.min(250, Math.max(10, Math.floor(deps.playTimeoutMs / 10)));
  let sweeper: NodeJS.Timeout | undefined;
  const queue = (state: State, self: Ref<DispatcherMsg>, entry: State['outbox'][number]): void => {
    if (state.outbox.push(entry) === 1) dispatch(self, { type: 'flush' });
  };
  const ref: Ref<DispatcherMsg> = spawn(
    parent as Ref<never>,
    (state: State, msg: DispatcherMsg, ctx): State => {
      switch (msg.type) {
        case 'play':
          markPlay(msg.taskId, 'dispatched');
          state.pending.set(msg.taskId, {
            replyTo: msg.replyTo,
            deadline: performance.now() + deps.playTimeoutMs,
          });
          queue(state, ctx.self, { task: taskOf(msg) });
          return state;
        case 'enqueue':
          // Not in the pending table: nobody waits for the script, so its reply (if any)
          // is dropped by settle() like a late one.
          queue(state, ctx.self, { task: taskOf(msg), enqueued: msg.replyTo });
          return state;
        case 'flush': {
          const batch = state.outbox;
          state.outbox = [];
          if (batch.length === 0) return state;
          markPlays(batch, (b) => b.task.taskId, 'submitting');
          deps.backend
            .submitBatch(
              batch.map((b) => b.task),
              hashTtl,
            )
            .then(
              () => {
                for (const b of batch)
                  if (b.enqueued) dispatch(b.enqueued, { type: 'enqueued', taskId: b.task.taskId, ok: true });
              },
              (err: Error) => {
                for (const b of batch) {
                  if (b.enqueued)
                    dispatch(b.enqueued, {
                      type: 'enqueued',
                      taskId: b.task.taskId,
                      ok: false,
                      reason: err.message,
                    });
                }
                dispatch(ctx.self, {
                  type: 'submit-failed',
                  taskIds: batch.map((b) => b.task.taskId),
                  reason: err.message,
                });
              },
            );
          return state;
        }
        case 'replies':
          for (const r of msg.replies) {
            // replies come from Redis: anything may be in there
            if (typeof r !== 'object' || r === null || typeof r.taskId !== 'string') continue;
            markPlay(r.taskId, 'replied');
            settle(state, r.taskId, outcomeOf(r));
          }
          return state;
        case 'sweep': {
          const now = performance.now();
          for (const [taskId, p] of state.pending) {
            if (p.deadline > now) break;
            settle(state, taskId, { ok: false, kind: 'timeout' });
          }
          return state;
        }
        case 'submit-failed':
          deps.logger.warn({ tasks: msg.taskIds.length, reason: msg.reason }, 'task backend refused tasks');
          for (const taskId of msg.taskIds)
            settle(state, taskId, { ok: false, kind: 'unavailable', reason: msg.reason });
          return state;
      }
    },
    name,
    {
      initialStateFunc: (ctx): State => {
        sweeper = setInterval(() => dispatch(ctx.self, { type: 'sweep' }), sweepEveryMs);
        sweeper.unref();
        return { pending: new Map(), outbox: [] };
      },
      // The pending table is the only record of who waits for what: keep it across a fault.
      onCrash: (_msg, err, ctx) => {
        deps.logger.error({ err: err?.message }, 'ScriptDispatcher fault; resuming');
        return ctx.resume;
      },
      afterStop: () => clearInterval(sweeper),
    },
  );
  return ref;
}
