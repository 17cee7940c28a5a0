import {
  ListenError,
  type Listener,
  type ListenerDeps,
  type TransportChoice,
  type TransportName,
} from './listener';
import { startUwsListener } from './uws-listener';
import { loadNativeUws } from './uws';
import { startWsListener } from './ws-listener';

/**
 * Which transport serves: `auto` takes uWebSockets.js where its native binary loads for
 * this Node and C library, else `ws`; `uws` refuses to start without the binary.
 */
export function chooseTransport(choice: TransportChoice): { name: TransportName; note?: string } {
  if (choice === 'ws') return { name: 'ws' };
  const native = loadNativeUws();
  if (native.ok) return { name: 'uws' };
  if (choice === 'uws') throw new ListenError(`--transport uws: ${native.reason}`);
  return { name: 'ws', note: native.reason };
}

/** Starts the HTTP and WebSocket listener on the chosen transport (SPEC §1, §2). */
export function startListener(deps: ListenerDeps, choice: TransportChoice = 'auto'): Promise<Listener> {
  const { name, note } = chooseTransport(choice);
  if (note) deps.logger.info({ reason: note }, 'serving WebSockets with the ws transport');
  return name === 'uws' ? startUwsListener(deps) : startWsListener(deps);
}
