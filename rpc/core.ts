import { RpcErrorCode, rpcError, type RpcError } from './errors';

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

export interface RpcHandler {
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

function runOne(entry: unknown, handler: RpcHandler, done: (text: string | null) => void): void {
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
    done(call.id === undefined ? null : serialize(call.id, reply));
  };
  try {
    handler.handle(call, respond);
  } catch (err) {
    // A bug in one method answers that request, without details, and the session goes on.
    handler.onInternalError?.(call, err);
    respond({ error: rpcError(RpcErrorCode.InternalError) });
  }
}

/**
 * Handles one text frame. `send` is called at most once, with the response (or the batch's
 * array of responses) once every member has answered; never for notifications alone.
 */
export function handleFrame(text: string, handler: RpcHandler, send: (text: string) => void): void {
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
  const slots: (string | null)[] = new Array(parsed.length);
  let remaining = parsed.length;
  parsed.forEach((entry, i) => {
    runOne(entry, handler, (out) => {
      slots[i] = out;
      if (--remaining > 0) return;
      const parts = slots.filter((s): s is string => s !== null);
      if (parts.length > 0) send(`[${parts.join(',')}]`);
    });
  });
}
