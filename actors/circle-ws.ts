import { spawn, type Ref } from 'nact';
import { handleFrame } from '../rpc/core';
import { answerBatch, type FramesMsg } from '../transport/frame-intake';
import type { SocketPort } from '../transport/socket-port';
import type { PlayResultMsg } from './play-protocol';
import { Session, type AuthCheckedMsg, type SessionConfig, type SessionSocket } from './session';

/** Everything a CircleWs actor understands: its frames, and the answers of its plays and logins. */
export type CircleWsMsg = FramesMsg | PlayResultMsg | AuthCheckedMsg;

/**
 * One actor per WebSocket. Its state is the session (nonces, identity, failures, plays and
 * logins in flight); it never awaits: plays go to the ScriptDispatcher and signature checks
 * to the verifier pool, and both come back as messages naming their request by id.
 * A crash closes only this socket (1011) and stops only this actor.
 */
export function spawnCircleWs(
  parent: Ref<unknown>,
  name: string,
  config: SessionConfig,
  port: SocketPort,
  circle: string,
): Ref<CircleWsMsg> {
  // Checked once per connection: with debug off, no line below is even formatted.
  const debug = config.logger.isLevelEnabled('debug');
  const socket: SessionSocket = {
    port,
    circle,
    logger: debug ? config.logger.child({ session: name, circle }) : config.logger,
  };
  const { logger } = socket;
  const openedAt = performance.now();
  if (debug) logger.debug('connection opened');
  return spawn(
    parent as Ref<never>,
    (session: Session, msg: CircleWsMsg): Session => {
      switch (msg.type) {
        case 'frames':
          answerBatch(msg.batch, port, (frame, send) => handleFrame(frame, session, send));
          return session;
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
      initialStateFunc: (ctx) => new Session(config, socket, ctx.self as Ref<PlayResultMsg | AuthCheckedMsg>),
      onCrash: (_msg, err, ctx) => {
        logger.error({ err: err?.message, circle }, 'session actor crashed; closing its socket');
        port.closeFor('crash');
        return ctx.stop;
      },
      afterStop: (session: Session) => {
        if (debug) {
          logger.debug(
            {
              code: port.closeCode,
              reason: port.closeReason,
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
