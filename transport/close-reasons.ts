/** WebSocket close codes the gateway uses (RFC 6455 §7.4, SPEC §2). */
export const CloseCode = {
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
} as const;

/**
 * Every reason the server closes a session, once: its close code, the reason text the peer
 * reads, and (the key) the `reason` label of `circles_sockets_closed_total`. Actors and
 * listeners close with `port.closeFor(reason)`; nobody writes a code or a text by hand.
 */
export const CLOSE_REASONS = {
  /** Stop: the drain ended (SPEC §2). */
  shutdown: { code: CloseCode.GoingAway, text: 'server shutting down' },
  /** Its unsent output passed --max-backpressure: the peer does not read. */
  backpressure: { code: CloseCode.TryAgainLater, text: 'slow reader: send buffer full' },
  binary_frame: { code: CloseCode.UnsupportedData, text: 'binary frames are not supported' },
  frame_too_big: { code: CloseCode.MessageTooBig, text: 'frame over --max-frame bytes' },
  invalid_utf8: { code: CloseCode.InvalidPayload, text: 'invalid UTF-8 in a text frame' },
  protocol_error: { code: CloseCode.ProtocolError, text: 'WebSocket protocol error' },
  /** A newcomer piled up frames past MAX_HELD_FRAMES before its handshake ended. */
  handshake_flood: { code: CloseCode.TryAgainLater, text: 'too many frames before the handshake ended' },
  auth_failures: { code: CloseCode.PolicyViolation, text: 'too many failed authentication attempts' },
  /** The session actor crashed, or could not be started. */
  crash: { code: CloseCode.InternalError, text: 'internal error' },
} as const;

export type CloseReason = keyof typeof CLOSE_REASONS;
