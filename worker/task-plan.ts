import type { HeldTask, StoredTask } from './backend';

/** What to do with one held task, decided from its hash alone. */
export type TaskPlan =
  /** Already completed or failed (e.g. re-queued after its worker died at the very end): just drop the id. */
  | { readonly kind: 'finished' }
  /** Malformed: answer with this error without running anything. */
  | { readonly kind: 'reject'; readonly error: string; readonly replyToQueue?: string }
  | {
      readonly kind: 'run';
      readonly script: string;
      readonly constants: Readonly<Record<string, unknown>>;
      /** Whether to load the circle store up front (cheap textual check; see `mayUseStore`). */
      readonly usesStore: boolean;
      readonly replyToQueue?: string;
    };

/**
 * Loading the store costs a round trip, so only scripts that mention a `store_` function
 * get it up front; one that reaches the store some other way (say, a computed `Fn` name)
 * is re-run with it (`needsStore`).
 */
export function mayUseStore(script: string): boolean {
  return script.includes('store_');
}

/** Validates a task hash against the queue it came from (SPEC §4). */
export function planTask(task: HeldTask, stored: StoredTask | null, maxScriptBytes: number): TaskPlan {
  if (stored === null) return { kind: 'reject', error: 'Task record not found' };
  if (stored.status === 'completed' || stored.status === 'error') return { kind: 'finished' };
  const replyToQueue = stored.replyToQueue || undefined;
  const reject = (error: string): TaskPlan => ({ kind: 'reject', error, replyToQueue });

  if (stored.contextId !== task.circlePk) {
    return reject(`Task contextId does not match the circle of its queue (${task.circlePk})`);
  }
  const script = stored.script ?? '';
  if (script.trim() === '') return reject('Task has no script');
  if (Buffer.byteLength(script, 'utf8') > maxScriptBytes) {
    return reject(`Script exceeds the maximum size of ${maxScriptBytes} bytes`);
  }
  const constants: Record<string, unknown> = {
    CONTEXT_ID: task.circlePk,
    CALLER_ID: stored.callerId || 'anonymous',
  };
  if (stored.input !== undefined && stored.input !== '') {
    let event: unknown;
    try {
      event = JSON.parse(stored.input);
    } catch {
      return reject('Task input is not valid JSON');
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      return reject('Task input must be a JSON object');
    }
    constants.event = event;
  }
  return { kind: 'run', script, constants, usesStore: mayUseStore(script), replyToQueue };
}
