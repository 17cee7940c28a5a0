import { BackendUnavailableError, type TaskState } from '../queue/dispatch-backend';
import type { RpcReply } from './core';
import { RpcErrorCode, rpcError } from './errors';

/** The read `task_status` needs from the task backend. */
export interface TaskStateReader {
  taskState(taskId: string): Promise<TaskState | null>;
}

/** Who asks: the session's identity (`anonymous` when none) and its circle. */
export interface TaskAsker {
  readonly callerId: string;
  readonly circle: string;
}

/**
 * `task_status` (SPEC §3.9): a task is visible only to the caller that submitted it, in the
 * circle it ran in. Any other task — another caller's, another circle's, a webhook's, one
 * that expired — is -32006, the same answer as for an id that never existed, so the reply
 * says nothing about other people's tasks.
 */
export function taskStatusReply(taskId: string, state: TaskState | null, asker: TaskAsker): RpcReply {
  if (!state || state.callerId !== asker.callerId || state.contextId !== asker.circle) {
    return { error: rpcError(RpcErrorCode.TaskNotFound) };
  }
  return {
    result: {
      task_id: taskId,
      status: state.status,
      ...(state.output !== undefined ? { output: state.output } : {}),
      ...(state.error !== undefined ? { error: state.error } : {}),
    },
  };
}

/** Reads and answers; a backend that does not answer is -32004, anything else -32603 (`onError` gets it). */
export function readTaskStatus(
  reader: TaskStateReader,
  taskId: string,
  asker: TaskAsker,
  onError: (err: unknown) => void,
): Promise<RpcReply> {
  return reader.taskState(taskId).then(
    (state) => taskStatusReply(taskId, state, asker),
    (err: unknown): RpcReply => {
      if (err instanceof BackendUnavailableError) {
        return { error: rpcError(RpcErrorCode.ServiceUnavailable, { reason: 'task backend unavailable' }) };
      }
      onError(err);
      return { error: rpcError(RpcErrorCode.InternalError) };
    },
  );
}
