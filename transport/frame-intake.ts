import { dispatch, type Ref } from 'nact';
import type { CircleWsMsg, FrameBatch } from '../actors/circle-ws';
import type { NewcomerLane } from './newcomer-lane';

/** A socket's session actor, its open frame batch, and a newcomer's frames waiting in the lane. */
export interface SessionInbox {
  actor?: Ref<CircleWsMsg>;
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
