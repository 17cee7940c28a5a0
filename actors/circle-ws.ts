import { spawn, type Ref } from 'nact';
import { handleFrame } from '../rpc/core';
import { CloseCode } from '../transport/socket-port';
import type { PlayResultMsg } from './play-protocol';
import { Session, type AuthCheckedMsg, type SessionDeps } from './session';

/**
 * Frames that arrived while the actor had not yet run. The listener appends to the open
 * batch until the actor takes it, so a burst of pipelined frames costs one actor turn
 * (nact runs each message in its own setImmediate) and one corked write.
 */
export interface FrameBatch {
  readonly frames: string[];
  taken: boolean;
}

/** Everything a CircleWs actor understands. */
export type CircleWsMsg =
  { readonly type: 'frames'; readonly batch: FrameBatch } | PlayResultMsg | AuthCheckedMsg;

/**
 * One actor per WebSocket. Its state is the session (nonces, identity, failures, plays in
 * flight); it never awaits: plays go to the ScriptDispatcher and come back as messages.
 * A crash closes only this socket (1011) and stops only this actor.
 */
export function spawnCircleWs(parent: Ref<unknown>, name: string, given: SessionDeps): Ref<CircleWsMsg> {
  // Checked once per connection: with debug off, no line below is even formatted.
  const debug = given.logger.isLevelEnabled('debug');
  const deps: SessionDeps = debug
    ? { ...given, logger: given.logger.child({ session: name, circle: given.circle }) }
    : given;
  const openedAt = performance.now();
  if (debug) deps.logger.debug('connection opened');
  return spawn(
    parent as Ref<never>,
    (session: Session, msg: CircleWsMsg): Session => {
      switch (msg.type) {
        case 'frames': {
          msg.batch.taken = true;
          // Answers produced during this turn leave together in one corked write; later
          // ones (plays, authentication) go out as they complete.
          const out: string[] = [];
          let inTurn = true;
          const send = (text: string): void => {
            if (inTurn) out.push(text);
            else deps.port.send(text);
          };
          for (const frame of msg.batch.frames) {
            handleFrame(frame, session, send);
            if (deps.port.closed) break;
          }
          inTurn = false;
          deps.port.sendAll(out);
          return session;
        }
        case 'play-result':
          session.onPlayResult(msg);
          return session;
        case 'auth-checked':
          session.onAuthChecked(msg);
          return session;
      }
    },
    name,
    {
      initialStateFunc: (ctx) => new Session(deps, ctx.self as Ref<PlayResultMsg | AuthCheckedMsg>),
      onCrash: (_msg, err, ctx) => {
        deps.logger.error(
          { err: err?.message, circle: deps.circle },
          'session actor crashed; closing its socket',
        );
        deps.metrics.socketsClosed.inc({ reason: 'crash' });
        deps.port.close(CloseCode.InternalError, 'internal error');
        return ctx.stop;
      },
      afterStop: (session: Session) => {
        if (debug) {
          deps.logger.debug(
            {
              code: deps.port.closeCode,
              reason: deps.port.closeReason,
              durationMs: Math.round(performance.now() - openedAt),
              unansweredPlays: session.inflightCount,
            },
            'connection closed',
          );
        }
        session.release();
      },
    },
  );
}
