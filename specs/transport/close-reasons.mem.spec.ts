import { CLOSE_REASONS, CloseCode, type CloseReason } from '../../transport/close-reasons';
import { ClosablePort } from '../../transport/socket-port';

/** A fake transport port: records the close frames it would send. */
class FakeClosablePort extends ClosablePort {
  readonly ended: { code: number; text: string }[] = [];
  readonly counted: CloseReason[] = [];
  constructor() {
    super({ onClosedFor: (reason) => this.counted.push(reason) });
  }
  send(): void {}
  sendAll(): void {}
  protected end(code: number, text: string): void {
    this.ended.push({ code, text });
  }
}

describe('close vocabulary', () => {
  it('gives every reason a close code a server may send (RFC 6455 §7.4.1) and a text within 123 bytes', () => {
    const sendable = new Set<number>(Object.values(CloseCode));
    for (const [reason, { code, text }] of Object.entries(CLOSE_REASONS)) {
      expect({ reason, sendable: sendable.has(code) }).toEqual({ reason, sendable: true });
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(123);
      expect(text.length).toBeGreaterThan(0);
    }
    expect(CLOSE_REASONS.frame_too_big.code).toBe(1009); // SPEC §2
    expect(CLOSE_REASONS.invalid_utf8.code).toBe(1007);
    expect(CLOSE_REASONS.shutdown.code).toBe(1001);
  });

  it('closeFor sends the reason’s code and text and counts it, once', () => {
    const port = new FakeClosablePort();
    port.closeFor('auth_failures');
    port.closeFor('crash'); // already closed: nothing more
    expect(port.ended).toEqual([{ code: 1008, text: 'too many failed authentication attempts' }]);
    expect(port.counted).toEqual(['auth_failures']);
    expect(port.closed).toBe(true);
    expect(port.closeCode).toBeUndefined(); // the close event fills it in (markClosed)
    port.markClosed(1008, 'from the event');
    expect(port.closeCode).toBe(1008);
  });

  it('closedBy counts a close the WebSocket library already sent, without sending another', () => {
    const port = new FakeClosablePort();
    port.closedBy('invalid_utf8');
    port.closeFor('shutdown');
    expect(port.ended).toEqual([]);
    expect(port.counted).toEqual(['invalid_utf8']);
    expect(port.closeCode).toBe(1007);
  });
});
