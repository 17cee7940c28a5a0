import type { HeldTask, StoredTask } from '../queue/worker-backend';

/** What to do with one held task, decided from its hash alone. */
export type TaskPlan =
  /** Already completed or failed (e.g. re-queued after its worker died at the very end): just drop the id. */
  | { readonly kind: 'finished' }
  /** Not a task id of the protocol: drop it from the processing list, write nothing. */
  | { readonly kind: 'foreign' }
  /** Malformed: answer with this error without running anything. */
  | { readonly kind: 'reject'; readonly error: string; readonly replyToQueue?: string }
  | {
      readonly kind: 'run';
      readonly script: string;
      readonly constants: Readonly<Record<string, unknown>>;
      /** Whether the source names a store function (a hint only; see `TaskLoop.runTask`). */
      readonly mentionsStore: boolean;
      /** Keys the source reads by literal name: read before the run (see `literalStoreKeys`). */
      readonly literalKeys: readonly string[];
      readonly replyToQueue?: string;
      /**
       * When the play was submitted (epoch ms): its caller waits one play timeout from then, so
       * that is the script's deadline too. Absent for webhook events (nobody waits on them:
       * they get one play timeout from when they start) and for hashes without a readable time.
       */
      readonly submittedAt?: number;
    };

const LITERAL_READ = /\bstore_(?:get|delete)\s*\(\s*"([^"\\\n]{1,256})"\s*\)/g;
const MAX_LITERAL_KEYS = 16;

/**
 * Keys a script reads by a plain string literal (`store_get("k")`, `store_delete("k")`).
 * The worker reads them before the run, all at once and off the script thread, so the
 * script does not block on a store round trip for each. A textual guess is enough: a key
 * read ahead but not used costs one read and is not checked at commit; a key missed is
 * read on demand as usual.
 */
export function literalStoreKeys(script: string): string[] {
  const keys = new Set<string>();
  for (const match of script.matchAll(LITERAL_READ)) {
    keys.add(match[1]!);
    if (keys.size === MAX_LITERAL_KEYS) break;
  }
  return [...keys];
}

/** SPEC §4: task ids are UUIDs (any version, any case). */
const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Validates a task hash against the queue it came from (SPEC §4). */
export function planTask(task: HeldTask, stored: StoredTask | null, maxScriptBytes: number): TaskPlan {
  // Anything else in a work queue is not a task of the protocol: answering it would write at
  // `rhailib:<id>`, which may be any key (a circle's own queue, say). Dropped, nothing written.
  if (!TASK_ID.test(task.taskId)) return { kind: 'foreign' };
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
  const mentionsStore = script.includes('store_');
  const literalKeys = mentionsStore ? literalStoreKeys(script) : [];
  const created = constants.event === undefined ? Date.parse(stored.createdAt ?? '') : NaN;
  const submittedAt = Number.isFinite(created) ? created : undefined;
  return { kind: 'run', script, constants, mentionsStore, literalKeys, replyToQueue, submittedAt };
}
