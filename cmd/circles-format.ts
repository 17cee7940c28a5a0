import { CirclesConnectionError, CirclesRpcError, CirclesTimeoutError } from '../client';
import type { ExecutionErrorData } from '../client';

const EXECUTION_ERROR = -32000;
/** The engine's message ends with this where it has a position; the CLI says it its own way. */
const POSITION_SUFFIX = /\s*\(line \d+, position \d+\)$/;

/**
 * One line for a failed call: a script error as `error: <message> (<kind> at line L, column
 * C)`, any other server error as `error: <message> (<code>)`.
 */
export function errorLine(err: unknown): string {
  if (err instanceof CirclesRpcError && err.code === EXECUTION_ERROR && isExecutionData(err.data)) {
    const d = err.data;
    const at = d.line !== undefined ? `at line ${d.line}, column ${d.position ?? 0}` : '';
    const where = [d.kind, at].filter(Boolean).join(' ');
    const message = d.line !== undefined ? d.error.replace(POSITION_SUFFIX, '') : d.error;
    return `error: ${message}${where ? ` (${where})` : ''}`;
  }
  if (err instanceof CirclesRpcError) return `error: ${err.message} (${err.code})`;
  if ((err instanceof CirclesConnectionError || err instanceof CirclesTimeoutError) && err.sent) {
    return `error: ${err.message}; the request had been sent, so it may have run`;
  }
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** The lines a failed script printed before failing, if the server sent them. */
export function errorLogs(err: unknown): readonly string[] {
  if (err instanceof CirclesRpcError && isExecutionData(err.data) && Array.isArray(err.data.logs)) {
    return err.data.logs.filter((l): l is string => typeof l === 'string');
  }
  return [];
}

/** Errors that mean the connection, not the call, failed (exit 2 in `circles play`). */
export function isConnectionFailure(err: unknown): boolean {
  return err instanceof CirclesConnectionError || (err instanceof CirclesTimeoutError && !err.sent);
}

function isExecutionData(data: unknown): data is ExecutionErrorData {
  return typeof data === 'object' && data !== null && typeof (data as { error?: unknown }).error === 'string';
}
