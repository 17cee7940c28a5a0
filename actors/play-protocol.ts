import type { Ref } from 'nact';

/** How one play ended, as the dispatcher reports it. */
export type PlayOutcome =
  | { readonly ok: true; readonly output: string; readonly logs?: readonly string[] }
  | ({ readonly ok: false; readonly kind: 'execution' } & ExecutionFailure)
  | { readonly ok: false; readonly kind: 'timeout' }
  | { readonly ok: false; readonly kind: 'unavailable'; readonly reason: string };

/** A script's failure as the worker reported it; all but `error` absent when unknown. */
export interface ExecutionFailure {
  /** The engine's message (with its position), or the worker's. */
  readonly error: string;
  /** `ErrorParsing`, `ErrorFunctionNotFound`, `ErrorStoreConflict`... (listed in openrpc.json). */
  readonly errorKind?: string;
  /** 1-based. */
  readonly line?: number;
  /** 1-based column, in characters. */
  readonly position?: number;
  /** What the script printed before it failed. */
  readonly logs?: readonly string[];
}

/** The message a play's `replyTo` receives. */
export interface PlayResultMsg {
  readonly type: 'play-result';
  readonly taskId: string;
  readonly outcome: PlayOutcome;
}

/** Ask the dispatcher to run a script in a circle; the answer goes to `replyTo`. */
export interface PlayMsg {
  readonly type: 'play';
  readonly taskId: string;
  readonly script: string;
  readonly callerId: string;
  readonly contextId: string;
  /** JSON object text bound as `event` (webhooks). */
  readonly input?: string;
  readonly replyTo: Ref<PlayResultMsg>;
}

/** `play`'s JSON-RPC result (SPEC §2): `logs` only when the script printed. */
export function playResult(
  taskId: string,
  outcome: { readonly output: string; readonly logs?: readonly string[] },
): { output: string; task_id: string; logs?: readonly string[] } {
  const result: { output: string; task_id: string; logs?: readonly string[] } = {
    output: outcome.output,
    task_id: taskId,
  };
  if (outcome.logs?.length) result.logs = outcome.logs;
  return result;
}

/** The `data` of a `-32000 Execution Error` (SPEC §2): the optional parts only when known. */
export function executionErrorData(taskId: string, failure: ExecutionFailure): Record<string, unknown> {
  const data: Record<string, unknown> = { task_id: taskId, error: failure.error };
  if (failure.errorKind !== undefined) data.kind = failure.errorKind;
  if (failure.line !== undefined) data.line = failure.line;
  if (failure.position !== undefined) data.position = failure.position;
  if (failure.logs?.length) data.logs = failure.logs;
  return data;
}
