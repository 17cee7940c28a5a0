/**
 * The three ways a call can fail. Only the first means the server answered; the other two say
 * whether the request had left (`sent`), because then its effect on the server is unknown.
 */

/** The server answered with a JSON-RPC error. The client never retries these. */
export class CirclesRpcError extends Error {
  override readonly name = 'CirclesRpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The connection was not there or was lost before the answer came. */
export class CirclesConnectionError extends Error {
  override readonly name = 'CirclesConnectionError';
  constructor(
    message: string,
    /** Whether the request had been sent (its effect is then unknown). */
    readonly sent = false,
  ) {
    super(message);
  }
}

/** No answer within the call's timeout. */
export class CirclesTimeoutError extends Error {
  override readonly name = 'CirclesTimeoutError';
  constructor(
    message: string,
    /** Whether the request had been sent (its effect is then unknown). */
    readonly sent: boolean,
  ) {
    super(message);
  }
}
