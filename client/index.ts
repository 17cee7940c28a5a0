/**
 * `circles/client`: the Circles client for browsers and Node ≥ 20 (SPEC §7). Pure JavaScript
 * (no Node built-ins on this path); `ws` is loaded only on Node 20, which has no WebSocket.
 */
export {
  CirclesClient,
  type CallOptions,
  type ClientEvent,
  type ClientOptions,
  type ClientState,
  type CloseDetail,
  type OpenDetail,
  type ReconnectingDetail,
} from './circles-client';
export type { ReconnectOptions } from './backoff';
export { CirclesConnectionError, CirclesRpcError, CirclesTimeoutError } from './errors';
export {
  eip1193Signer,
  messageSigner,
  personalMessageHash,
  privateKeySigner,
  randomPrivateKey,
  type Eip1193Provider,
  type MessageSigningObject,
  type Signer,
  type ViemAccountLike,
} from './signers';
export {
  EXECUTION_ERROR_DATA_CONTRACT,
  RPC_CONTRACT,
  TASK_STATES,
  type AuthResult,
  type ExecutionErrorData,
  type MethodName,
  type NonceResult,
  type ParamsOf,
  type PlayResult,
  type ResultOf,
  type RpcMethods,
  type TaskState,
  type TaskStatusResult,
  type WhoamiResult,
} from './rpc-types';
