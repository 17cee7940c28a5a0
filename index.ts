/**
 * Circles as a library: embed the gateway in a nact application, run workers or the whole
 * launcher in process, or use the Rhai engine on its own.
 */
export { spawnCircleServer, type CircleServerHandle, type CircleServerExtras } from './server/circle-server';
export { spawnScriptDispatcher, type DispatcherMsg, type DispatcherDeps } from './actors/script-dispatcher';
export type { PlayMsg, PlayOutcome, PlayResultMsg } from './actors/play-protocol';
export type { CircleWsMsg } from './actors/circle-ws';
export {
  ServerOptionsSchema,
  TRANSPORTS,
  type ServerOptions,
  type ServerOptionsInput,
  type Transport,
} from './server/options';
export { RpcErrorCode, RPC_ERROR_MESSAGES, type RpcError } from './rpc/errors';
export { handleFrame, type RpcCall, type RpcHandler, type RpcReply } from './rpc/core';
export { normalizePubkey, generateKeyPair } from './auth/keys';
export { personalMessageDigest } from './auth/eip191';
export { verifyPersonalSignature } from './auth/signature';
export { BackendUnavailableError, type DispatchBackend, type NewTask } from './queue/dispatch-backend';
export { createRedisDispatch, type RedisDispatchOptions } from './queue/redis-dispatch';
export { EmbeddedTaskBackend, type EmbeddedBackendOptions } from './queue/embedded-backend';
export { keyBuilder, type KeyBuilder } from './queue/keys';
export type { TaskRecord, TaskReply, TaskStatus } from './queue/task';
export {
  startWorker,
  workerOptionsSchema,
  type WorkerHandle,
  type WorkerOptionsInput,
  type WorkerBackend,
} from './worker';
export { launchCircles, type LaunchOptions, type Launched } from './launcher/launch';
export { createLogger, silentLogger, LOG_FORMATS, type Logger, type LogFormat } from './log';
export * as rhai from './rhai';
export { personalSign, publicKeyOf } from './auth/personal-sign';
