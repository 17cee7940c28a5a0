import type { Ref } from 'nact';

/** How one play ended, as the dispatcher reports it. */
export type PlayOutcome =
  | { readonly ok: true; readonly output: string }
  | { readonly ok: false; readonly kind: 'execution'; readonly error: string }
  | { readonly ok: false; readonly kind: 'timeout' }
  | { readonly ok: false; readonly kind: 'unavailable'; readonly reason: string };

/** The message a play's `replyTo` receives. */
export interface PlayResultMsg {
  readonly type: 'play-result';
  readonly taskId: string;
  readonly outcome: PlayOutcome;
}

/** Ask the dispatcher to run a script in a circle; the answer goes to `replyTo`. */
export interface PlayMsg {
  readonly type: 'play';
  readonly taskId: string;
  readonly script: string;
  readonly callerId: string;
  readonly contextId: string;
  /** JSON object text bound as `event` (webhooks). */
  readonly input?: string;
  readonly replyTo: Ref<PlayResultMsg>;
}
