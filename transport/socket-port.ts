/**
 * The only face of a socket the actors see. It owns uWS's rule that a socket object is
 * invalid after its close event: once closed, send and close do nothing.
 */
export interface SocketPort {
  send(text: string): void;
  /** Sends several frames in one syscall batch (uWS cork). */
  sendAll(texts: readonly string[]): void;
  close(code: number, reason?: string): void;
  readonly closed: boolean;
  /** How the socket ended, once it has (for the connection log line). */
  readonly closeCode?: number;
  readonly closeReason?: string;
  /**
   * Whether the session is past its handshake (it logged in, or made a request other than
   * fetch_nonce/authenticate where login is optional). Until then its frames wait in the
   * newcomer lane behind established sessions' (transport/newcomer-lane.ts).
   */
  readonly established: boolean;
  markEstablished(): void;
}

/** WebSocket close codes the gateway uses. */
export const CloseCode = {
  GoingAway: 1001,
  UnsupportedData: 1003,
  PolicyViolation: 1008,
  InvalidPayload: 1007,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
} as const;

export interface SocketPortHooks {
  /** Called once when a send is refused because the peer does not read (slow reader). */
  onBackpressure(): void;
}

/**
 * What both transports' ports share: once closed, send and close do nothing (uWS's socket
 * objects are invalid after their close event; `ws` ignores sends after close), and how the
 * socket ended is kept for the connection log line.
 */
export abstract class ClosablePort implements SocketPort {
  protected isClosed = false;
  closeCode?: number;
  closeReason?: string;
  established = false;

  constructor(protected readonly hooks: SocketPortHooks) {}

  markEstablished(): void {
    this.established = true;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Called from the transport's close event with what the close frame said. */
  markClosed(code?: number, reason?: string): void {
    this.isClosed = true;
    this.closeCode ??= code;
    this.closeReason ??= reason;
  }

  abstract send(text: string): void;
  abstract sendAll(texts: readonly string[]): void;
  abstract close(code: number, reason?: string): void;

  /** A peer whose unsent output passed the limit does not read: we let it go (1013). */
  protected dropSlowReader(): false {
    this.hooks.onBackpressure();
    this.close(CloseCode.TryAgainLater, 'slow reader: send buffer full');
    return false;
  }
}
