/** What the page shows of a failed call: which error, where in the script, what it printed. */
export interface ErrorDetails {
  /** The engine's error kind (`ErrorParsing`...), else the JSON-RPC message or error name. */
  readonly kind: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  readonly taskId?: string;
  readonly logs: readonly string[];
}

const EXECUTION_ERROR = -32000;
// Servers that predate structured errors still say where in the message text.
const POSITION_IN_TEXT = /\(line (\d+), position (\d+)\)/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s) => typeof s === 'string') : []);

/** Details of any error a call can reject with; reads `-32000` data (SPEC §2) defensively. */
export function errorDetails(err: unknown): ErrorDetails {
  if (!(err instanceof Error)) return { kind: 'Error', message: String(err), logs: [] };
  const code = (err as { code?: unknown }).code;
  const data = (err as { data?: unknown }).data;
  if (code !== EXECUTION_ERROR || !isRecord(data)) {
    const kind = typeof code === 'number' ? `${err.message} (${code})` : err.name;
    return {
      kind,
      message: typeof code === 'number' && isRecord(data) ? JSON.stringify(data) : err.message,
      logs: [],
    };
  }
  const message = typeof data.error === 'string' ? data.error : err.message;
  const fromText = POSITION_IN_TEXT.exec(message);
  const line = positive(data.line) ?? (fromText ? Number(fromText[1]) : undefined);
  const column = positive(data.position) ?? (fromText ? Number(fromText[2]) : undefined);
  return {
    kind: typeof data.kind === 'string' && data.kind !== '' ? data.kind : err.message,
    message,
    line,
    column,
    taskId: typeof data.task_id === 'string' ? data.task_id : undefined,
    logs: strings(data.logs),
  };
}

/** One line for the error element: `ErrorParsing at 2:5 — message`. */
export function describeError(d: ErrorDetails): string {
  const where = d.line !== undefined ? ` at ${d.line}:${d.column ?? 1}` : '';
  return `${d.kind}${where}: ${d.message}`;
}
