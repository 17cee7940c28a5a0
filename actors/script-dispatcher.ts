import { dispatch, spawn, type Ref } from 'nact';
import type { Logger } from '../log';
import type { DispatchBackend } from '../queue/dispatch-backend';
import type { TaskReply } from '../queue/task';
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
  | { readonly type: 'timeout'; readonly taskId: string }
  | { readonly type: 'submit-failed'; readonly taskId: string; readonly reason: string };

export interface DispatcherDeps {
  backend: DispatchBackend;
  playTimeoutMs: number;
  taskTtlSeconds: number;
  logger: Logger;
}

interface Pending {
  replyTo: Ref<PlayResultMsg>;
  timer: NodeJS.Timeout;
}

type State = Map<string, Pending>;

function settle(state: State, taskId: string, outcome: PlayOutcome): void {
  const p = state.get(taskId);
  if (!p) return; // already answered (e.g. timed out before a late reply)
  state.delete(taskId);
  clearTimeout(p.timer);
  dispatch(p.replyTo, { type: 'play-result', taskId, outcome });
}

/**
 * The one ScriptDispatcher per server. It never awaits Redis inside its handler: the
 * submit runs on its own and reports failure as a message, replies arrive in batches from
 * the backend's single reader loop, and each play's timeout is a message to itself.
 */
export function spawnScriptDispatcher(parent: Ref<unknown>, name: string, deps: DispatcherDeps): Ref<DispatcherMsg> {
  const hashTtl = Math.ceil(deps.playTimeoutMs / 1000) + deps.taskTtlSeconds;
  const ref: Ref<DispatcherMsg> = spawn(
    parent as Ref<never>,
    (state: State, msg: DispatcherMsg, ctx): State => {
      switch (msg.type) {
        case 'play': {
          const timer = setTimeout(() => dispatch(ctx.self, { type: 'timeout', taskId: msg.taskId }), deps.playTimeoutMs);
          state.set(msg.taskId, { replyTo: msg.replyTo, timer });
          deps.backend
            .submit(
              { taskId: msg.taskId, script: msg.script, callerId: msg.callerId, contextId: msg.contextId, input: msg.input },
              hashTtl,
            )
            .catch((err: Error) => dispatch(ctx.self, { type: 'submit-failed', taskId: msg.taskId, reason: err.message }));
          return state;
        }
        case 'enqueue': {
          // Not in the pending table: nobody waits for the script, so its reply (if any)
          // is dropped by settle() like a late one.
          const { replyTo, taskId } = msg;
          deps.backend
            .submit({ taskId, script: msg.script, callerId: msg.callerId, contextId: msg.contextId, input: msg.input }, hashTtl)
            .then(
              () => dispatch(replyTo, { type: 'enqueued', taskId, ok: true }),
              (err: Error) => dispatch(replyTo, { type: 'enqueued', taskId, ok: false, reason: err.message }),
            );
          return state;
        }
        case 'replies':
          for (const r of msg.replies) {
            settle(
              state,
              r.taskId,
              r.status === 'completed'
                ? { ok: true, output: r.output ?? '' }
                : { ok: false, kind: 'execution', error: r.error ?? 'unknown error' },
            );
          }
          return state;
        case 'timeout':
          settle(state, msg.taskId, { ok: false, kind: 'timeout' });
          return state;
        case 'submit-failed':
          deps.logger.warn({ taskId: msg.taskId, reason: msg.reason }, 'task backend refused a task');
          settle(state, msg.taskId, { ok: false, kind: 'unavailable', reason: msg.reason });
          return state;
      }
    },
    name,
    {
      initialStateFunc: () => new Map<string, Pending>(),
      // The pending table is the only record of who waits for what: keep it across a fault.
      onCrash: (_msg, err, ctx) => {
        deps.logger.error({ err: err?.message }, 'ScriptDispatcher fault; resuming');
        return ctx.resume;
      },
      afterStop: (state: State) => {
        for (const p of state.values()) clearTimeout(p.timer);
      },
    },
  );
  return ref;
}
