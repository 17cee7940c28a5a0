import { dispatch, type Ref } from 'nact';
import type { NewcomerLane } from './newcomer-lane';
import type { SocketPort } from './socket-port';

/**
 * Frames that arrived while the session actor had not yet run. The listener appends to the
 * open batch until the actor takes it, so a burst of pipelined frames costs one actor turn
 * (nact runs each message in its own setImmediate) and one corked write.
 */
export interface FrameBatch {
  readonly frames: string[];
  taken: boolean;
}

/** The message a session actor gets for its frames. */
export interface FramesMsg {
  readonly type: 'frames';
  readonly batch: FrameBatch;
}

/** A socket's session actor, its open frame batch, and a newcomer's frames waiting in the lane. */
export interface SessionInbox {
  actor?: Ref<FramesMsg>;
  batch?: FrameBatch;
  /** Frames waiting in the newcomer lane, in arrival order (absent when none wait). */
  held?: string[];
}

/**
 * Most frames a session in its handshake may have waiting in the newcomer lane; past it the
 * transport closes the socket (1013): a login needs two, and the lane drains every turn.
 */
export const MAX_HELD_FRAMES = 1024;

/**
 * Hands a text frame to the session actor. Frames that arrive before the actor runs join
 * its open batch, so a pipelined burst costs one actor turn and one corked write. A session
 * still in its handshake (`established` false) queues its frames in the newcomer lane
 * instead, unless the lane lets it through at once (nothing waits, the turn's budget is not
 * spent), and so does any frame behind one already waiting there (order is kept).
 * False when a newcomer has more than MAX_HELD_FRAMES waiting: the caller closes it.
 */
export function deliverFrame(
  inbox: SessionInbox,
  text: string,
  lane: NewcomerLane | null = null,
  established = true,
): boolean {
  if (!inbox.actor) return true;
  const held = inbox.held;
  if (held) {
    if (held.length >= MAX_HELD_FRAMES) return false;
    held.push(text);
    return true;
  }
  if (!established && lane && !lane.runNow()) {
    const frames = (inbox.held = [text]);
    lane.defer(() => {
      inbox.held = undefined;
      for (const t of frames) toActor(inbox, t);
    });
    return true;
  }
  toActor(inbox, text);
  return true;
}

function toActor(inbox: SessionInbox, text: string): void {
  if (!inbox.actor) return;
  const open = inbox.batch;
  if (open && !open.taken) open.frames.push(text);
  else {
    inbox.batch = { frames: [text], taken: false };
    dispatch(inbox.actor, { type: 'frames', batch: inbox.batch });
  }
}

/**
 * The session actor's side of a batch: takes it (later frames open a new one), hands each
 * frame to `handle`, and sends the answers produced in this turn together in one corked write;
 * answers that come later (plays, logins) go out as they complete. Stops at a closed socket.
 */
export function answerBatch(
  batch: FrameBatch,
  port: SocketPort,
  handle: (frame: string, send: (text: string) => void) => void,
): void {
  batch.taken = true;
  const out: string[] = [];
  let inTurn = true;
  const send = (text: string): void => {
    if (inTurn) out.push(text);
    else port.send(text);
  };
  for (const frame of batch.frames) {
    handle(frame, send);
    if (port.closed) break;
  }
  inTurn = false;
  port.sendAll(out);
}
