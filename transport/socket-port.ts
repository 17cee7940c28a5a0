import type { WebSocket } from 'uWebSockets.js';

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

/** Adapts one uWS socket; the listener calls `markClosed()` from uWS's close handler. */
export class UwsSocketPort<T> implements SocketPort {
  private isClosed = false;

  constructor(
    private readonly ws: WebSocket<T>,
    private readonly maxBuffered: number,
    private readonly hooks: SocketPortHooks,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  closeCode?: number;
  closeReason?: string;

  /** Called from the transport's close event with what the close frame said. */
  markClosed(code?: number, reason?: string): void {
    this.isClosed = true;
    this.closeCode ??= code;
    this.closeReason ??= reason;
  }

  send(text: string): void {
    if (this.isClosed) return;
    this.ws.cork(() => this.write(text));
  }

  sendAll(texts: readonly string[]): void {
    if (this.isClosed || texts.length === 0) return;
    this.ws.cork(() => {
      for (const t of texts) if (!this.write(t)) return;
    });
  }

  close(code: number, reason = ''): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.end(code, reason);
  }

  /** 2 = dropped by uWS (over maxBackpressure): the reader is too slow, so we let it go. */
  private write(text: string): boolean {
    const status = this.ws.send(text, false);
    if (status !== 2 && this.ws.getBufferedAmount() <= this.maxBuffered) return true;
    this.hooks.onBackpressure();
    this.close(CloseCode.TryAgainLater, 'slow reader: send buffer full');
    return false;
  }
}
