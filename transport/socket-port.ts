import { CLOSE_REASONS, type CloseReason } from './close-reasons';

/**
 * The only face of a socket the actors see. It owns uWS's rule that a socket object is
 * invalid after its close event: once closed, send and close do nothing.
 */
export interface SocketPort {
  send(text: string): void;
  /** Sends several frames in one syscall batch (uWS cork). */
  sendAll(texts: readonly string[]): void;
  /** Closes with the reason's code and text (close-reasons.ts) and counts it; once. */
  closeFor(reason: CloseReason): void;
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

export interface SocketPortHooks {
  /** The server closed this socket, or saw it closed, for `reason` (the metric's label). */
  onClosedFor(reason: CloseReason): void;
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

  closeFor(reason: CloseReason): void {
    if (this.isClosed) return;
    this.hooks.onClosedFor(reason);
    const { code, text } = CLOSE_REASONS[reason];
    this.isClosed = true;
    this.end(code, text);
  }

  /** The WebSocket library has already closed it (ws answers 1009/1007/1002 itself). */
  closedBy(reason: CloseReason): void {
    if (this.isClosed) return;
    this.hooks.onClosedFor(reason);
    const { code, text } = CLOSE_REASONS[reason];
    this.markClosed(code, text);
  }

  abstract send(text: string): void;
  abstract sendAll(texts: readonly string[]): void;
  /** Sends the close frame; `closeFor` has marked the port closed already. */
  protected abstract end(code: number, text: string): void;

  /** A peer whose unsent output passed the limit does not read: we let it go. */
  protected dropSlowReader(): false {
    this.closeFor('backpressure');
    return false;
  }
}
