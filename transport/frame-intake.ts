import { dispatch, type Ref } from 'nact';
import type { CircleWsMsg, FrameBatch } from '../actors/circle-ws';

/** A socket's session actor and its open frame batch. */
export interface SessionInbox {
  actor?: Ref<CircleWsMsg>;
  batch?: FrameBatch;
}

/**
 * Hands a text frame to the session actor. Frames that arrive before the actor runs join
 * its open batch, so a pipelined burst costs one actor turn and one corked write.
 */
export function deliverFrame(inbox: SessionInbox, text: string): void {
  if (!inbox.actor) return;
  const open = inbox.batch;
  if (open && !open.taken) open.frames.push(text);
  else {
    inbox.batch = { frames: [text], taken: false };
    dispatch(inbox.actor, { type: 'frames', batch: inbox.batch });
  }
}
