import { randomUUID } from 'node:crypto';
import type { DispatchBackend } from '../queue/dispatch-backend';
import type { TaskReply } from '../queue/task';

export interface InitScript {
  readonly circle: string;
  readonly file: string;
  readonly source: string;
}

/** Raised when an init script fails; the message carries the engine's error and position. */
export class InitScriptError extends Error {}

/**
 * Runs each circle's init script once, in its own context (CALLER_ID = CONTEXT_ID = the
 * circle), through the same task backend and workers the server will use, before the
 * server accepts connections. Uses a dispatch channel of its own, closed afterwards.
 */
export async function runInitScripts(
  channel: DispatchBackend,
  scripts: readonly InitScript[],
  timeoutMs: number,
  hashTtlSeconds: number,
): Promise<Map<string, string>> {
  const waiting = new Map<string, (reply: TaskReply) => void>();
  await channel.start((replies) => {
    for (const r of replies) waiting.get(r.taskId)?.(r);
  });
  const outputs = new Map<string, string>();
  try {
    for (const s of scripts) {
      const taskId = randomUUID();
      const reply = new Promise<TaskReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(taskId);
          reject(
            new InitScriptError(
              `init script ${s.file} for circle ${s.circle} gave no result within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiting.set(taskId, (r) => {
          clearTimeout(timer);
          waiting.delete(taskId);
          resolve(r);
        });
      });
      await channel.submit(
        { taskId, script: s.source, callerId: s.circle, contextId: s.circle },
        hashTtlSeconds,
      );
      const r = await reply;
      if (r.status !== 'completed') {
        throw new InitScriptError(
          `init script ${s.file} for circle ${s.circle} failed: ${r.error ?? 'unknown error'}`,
        );
      }
      outputs.set(s.circle, r.output ?? '');
    }
    return outputs;
  } finally {
    await channel.close();
  }
}
