import { CirclesClient, type AuthResult, type Signer } from '../client';

/** What the page shows of the connection. */
export interface ConnectionView {
  /** `connecting`, `open`, `reconnecting`, `closed`...; `detail` says why when it failed. */
  state(state: string, detail?: string): void;
  identity(auth: AuthResult | null): void;
  /** The first connection to a circle failed (e.g. a circle this server does not serve). */
  failed(message: string): void;
}

const EVENTS = ['open', 'close', 'reconnecting', 'authenticated', 'error'] as const;

/** The page's link to one circle at a time; the client reconnects and re-authenticates itself. */
export class Connection {
  private client: CirclesClient | null = null;

  constructor(private readonly view: ConnectionView) {}

  /** Leaves the current circle (if any) and connects to `circle` on this page's own server. */
  open(circle: string): void {
    const old = this.client;
    if (old) void old.close();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // Calls made while reconnecting wait for the link instead of failing: a play waiting
    // this way has not left the page, so running it late cannot run it twice.
    const client = new CirclesClient({
      url: `${scheme}://${location.host}/${encodeURIComponent(circle)}`,
      whileDisconnected: 'wait',
      // someone is watching the page: come back within seconds once the server is back
      reconnect: { maxDelayMs: 4000 },
    });
    this.client = client;
    this.view.identity(null);
    for (const event of EVENTS) {
      client.on(event, (detail: unknown) => {
        if (this.client !== client) return; // a circle we already left
        this.view.state(client.state, event === 'error' ? messageOf(detail) : undefined);
        if (event === 'authenticated') this.view.identity(client.identity);
      });
    }
    this.view.state(client.state);
    client.connect().then(
      () => this.client === client && this.view.state(client.state),
      (err: unknown) => {
        if (this.client !== client) return;
        this.view.state(client.state, messageOf(err));
        this.view.failed(`cannot connect to circle ${circle}: ${messageOf(err) ?? 'connection refused'}`);
      },
    );
  }

  /** The current circle's client; throws when no circle is picked yet. */
  get current(): CirclesClient {
    if (!this.client) throw new Error('pick a circle first');
    return this.client;
  }

  async login(signer: Signer): Promise<AuthResult> {
    const auth = await this.current.login(signer);
    this.view.identity(auth);
    return auth;
  }
}

function messageOf(detail: unknown): string | undefined {
  if (detail instanceof Error) return detail.message;
  if (typeof detail === 'string') return detail;
  return undefined;
}
