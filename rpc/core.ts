import { RpcErrorCode, rpcError, type RpcError } from './errors';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-limits';

/**
 * The transport-free JSON-RPC 2.0 core: one text frame in, zero or one text frame out.
 * Methods answer through `respond`, synchronously or later (a `play` answers when its
 * task finishes), so the caller (a session actor or a spec) decides where replies go.
 */
export type JsonRpcId = string | number | null;

export interface RpcCall {
  /** `undefined` marks a notification: it runs, but nothing is sent back. */
  readonly id: JsonRpcId | undefined;
  readonly method: string;
  readonly params: unknown;
}

export type RpcReply = { readonly result: unknown } | { readonly error: RpcError };
export type Respond = (reply: RpcReply) => void;

/** Default of `--max-batch`: the most members one batch may have (SPEC §2). */
export const DEFAULT_MAX_BATCH = 1000;

/**
 * Default budget of reply bytes one batch may build before the rest of its members are cut
 * short: 1 MiB, the default `--max-frame` (a frame's replies may be as large as the largest
 * frame a client may send). The whole reply then stays well under the default send buffer a
 * slow reader is allowed (`maxBackpressureBytes`, 4 MiB) — budget, plus the one reply that
 * crossed it, plus one short error per remaining member — so it is written whole instead of
 * the socket being closed (1013).
 */
export const MAX_FRAME_REPLY_BYTES = 1024 * 1024;

/** Limits of one frame; each falls back to the handler's, then to the default. */
export interface FrameLimits {
  /** Most members of a batch; more → one -32600 naming the limit, no member evaluated. */
  readonly maxBatch?: number;
  /** Reply bytes a batch may build; members reached after that get a short -32005. */
  readonly maxReplyBytes?: number;
}

export interface RpcHandler extends FrameLimits {
  handle(call: RpcCall, respond: Respond): void;
  /** Told about an exception a method threw (answered with a generic -32603). */
  onInternalError?(call: RpcCall, error: unknown): void;
}

type Checked = { ok: true; call: RpcCall } | { ok: false; id: JsonRpcId; error: RpcError };

/** The envelope is checked by hand: zod here would cost ≈ 30 % of the per-frame budget. */
function checkEnvelope(value: unknown): Checked {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, error: rpcError(RpcErrorCode.InvalidRequest) };
  }
  const msg = value as Record<string, unknown>;
  const rawId = msg.id;
  const hasId = 'id' in msg;
  const idOk =
    !hasId ||
    rawId === null ||
    typeof rawId === 'string' ||
    (typeof rawId === 'number' && Number.isFinite(rawId));
  const id = idOk && hasId ? (rawId as JsonRpcId) : null;
  if (!idOk || msg.jsonrpc !== '2.0' || typeof msg.method !== 'string') {
    return { ok: false, id, error: rpcError(RpcErrorCode.InvalidRequest) };
  }
  const params = msg.params;
  if (params !== undefined && (typeof params !== 'object' || params === null)) {
    return { ok: false, id, error: rpcError(RpcErrorCode.InvalidRequest) };
  }
  return { ok: true, call: { id: hasId ? id : undefined, method: msg.method, params } };
}

function serialize(id: JsonRpcId, reply: RpcReply): string {
  return 'result' in reply
    ? `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(reply.result ?? null)}}`
    : `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(reply.error)}}`;
}

/** The task id a reply names, if any (a play's result or error), kept when it is cut. */
function taskIdOf(reply: RpcReply): string | undefined {
  const body = 'result' in reply ? reply.result : reply.error.data;
  const id = typeof body === 'object' && body !== null ? (body as { task_id?: unknown }).task_id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/**
 * A member answered once the frame's reply budget is spent: short on purpose (a batch may
 * have thousands). A play that already ran keeps its `task_id`, so its result stays
 * reachable.
 */
function overBudget(budget: number, taskId?: string): RpcReply {
  const limit = `${budget} reply bytes per frame`;
  return {
    error: rpcError(
      RpcErrorCode.TooManyRequests,
      taskId === undefined ? { limit } : { limit, task_id: taskId },
    ),
  };
}

/**
 * Runs one request. `budget` (batches only) decides, when the reply is ready, whether it
 * may be sent as built or must be replaced by the short over-budget error.
 */
function runOne(
  entry: unknown,
  handler: RpcHandler,
  done: (text: string | null) => void,
  budget?: ReplyBudget,
): void {
  const checked = checkEnvelope(entry);
  if (!checked.ok) {
    done(serialize(checked.id, { error: checked.error }));
    return;
  }
  const { call } = checked;
  let answered = false;
  const respond: Respond = (reply) => {
    if (answered) return;
    answered = true;
    if (call.id === undefined) return done(null);
    if (budget?.spent) return done(serialize(call.id, overBudget(budget.limit, taskIdOf(reply))));
    done(serialize(call.id, reply));
  };
  try {
    handler.handle(call, respond);
  } catch (err) {
    // A bug in one method answers that request, without details, and the session goes on.
    handler.onInternalError?.(call, err);
    respond({ error: rpcError(RpcErrorCode.InternalError) });
  }
}

/** Reply bytes of one batch so far. */
class ReplyBudget {
  used = 0;
  constructor(readonly limit: number) {}
  get spent(): boolean {
    return this.used > this.limit;
  }
}

/** A member reached after the budget is spent: answered without being evaluated. */
function skipped(entry: unknown, budget: ReplyBudget): string | null {
  const checked = checkEnvelope(entry);
  if (!checked.ok) return serialize(checked.id, { error: checked.error });
  if (checked.call.id === undefined) return null; // a notification is simply not run
  return serialize(checked.call.id, overBudget(budget.limit));
}

const tooDeep = (): RpcReply => ({
  error: rpcError(RpcErrorCode.InvalidRequest, {
    limit: MAX_JSON_DEPTH,
    reason: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
  }),
});

const tooManyMembers = (members: number, max: number): RpcReply => ({
  error: rpcError(RpcErrorCode.InvalidRequest, {
    limit: max,
    reason: `batch of ${members} requests; at most ${max} (--max-batch)`,
  }),
});

/**
 * Handles one text frame. `send` is called at most once, with the response (or the batch's
 * array of responses) once every member has answered; never for notifications alone.
 *
 * Bounds, all answered without evaluating anything: a frame nested deeper than
 * {@link MAX_JSON_DEPTH} is one -32600 (id null) naming the limit, measured on the text
 * before it is parsed; a batch of more than `maxBatch` members is one -32600 naming the
 * limit. A batch stops evaluating members once its replies pass `maxReplyBytes`: the rest
 * (and late replies) are a short -32005 each.
 */
export function handleFrame(
  text: string,
  handler: RpcHandler,
  send: (text: string) => void,
  limits: FrameLimits = {},
): void {
  if (jsonTooDeep(text, MAX_JSON_DEPTH)) {
    send(serialize(null, tooDeep()));
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    send(serialize(null, { error: rpcError(RpcErrorCode.ParseError) }));
    return;
  }
  if (!Array.isArray(parsed)) {
    runOne(parsed, handler, (out) => {
      if (out !== null) send(out);
    });
    return;
  }
  if (parsed.length === 0) {
    send(serialize(null, { error: rpcError(RpcErrorCode.InvalidRequest) }));
    return;
  }
  const maxBatch = limits.maxBatch ?? handler.maxBatch ?? DEFAULT_MAX_BATCH;
  if (parsed.length > maxBatch) {
    send(serialize(null, tooManyMembers(parsed.length, maxBatch)));
    return;
  }
  const budget = new ReplyBudget(limits.maxReplyBytes ?? handler.maxReplyBytes ?? MAX_FRAME_REPLY_BYTES);
  const slots: (string | null)[] = new Array(parsed.length);
  let remaining = parsed.length;
  const settle = (i: number, out: string | null): void => {
    slots[i] = out;
    if (out !== null) budget.used += Buffer.byteLength(out, 'utf8') + 1;
    if (--remaining > 0) return;
    const parts = slots.filter((s): s is string => s !== null);
    if (parts.length > 0) send(`[${parts.join(',')}]`);
  };
  for (let i = 0; i < parsed.length; i++) {
    const entry: unknown = parsed[i];
    if (budget.spent) settle(i, skipped(entry, budget));
    else runOne(entry, handler, (out) => settle(i, out), budget);
  }
}
