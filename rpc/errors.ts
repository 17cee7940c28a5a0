/** Every JSON-RPC error code Circles answers with (JSON-RPC 2.0 standard + SPEC §2). */
export enum RpcErrorCode {
  ParseError = -32700,
  InvalidRequest = -32600,
  MethodNotFound = -32601,
  InvalidParams = -32602,
  InternalError = -32603,
  ExecutionError = -32000,
  AuthenticationRequired = -32001,
  InvalidCredentials = -32002,
  ExecutionTimeout = -32003,
  ServiceUnavailable = -32004,
  TooManyRequests = -32005,
  TaskNotFound = -32006,
}

/** The message text for each code (tests assert codes, clients may show these). */
export const RPC_ERROR_MESSAGES: Readonly<Record<RpcErrorCode, string>> = {
  [RpcErrorCode.ParseError]: 'Parse error',
  [RpcErrorCode.InvalidRequest]: 'Invalid Request',
  [RpcErrorCode.MethodNotFound]: 'Method not found',
  [RpcErrorCode.InvalidParams]: 'Invalid params',
  [RpcErrorCode.InternalError]: 'Internal error',
  [RpcErrorCode.ExecutionError]: 'Execution Error',
  [RpcErrorCode.AuthenticationRequired]: 'Authentication Required',
  [RpcErrorCode.InvalidCredentials]: 'Invalid Credentials',
  [RpcErrorCode.ExecutionTimeout]: 'Execution Timeout',
  [RpcErrorCode.ServiceUnavailable]: 'Service Unavailable',
  [RpcErrorCode.TooManyRequests]: 'Too Many Requests',
  [RpcErrorCode.TaskNotFound]: 'Task Not Found',
};

/** A JSON-RPC error object as sent on the wire. */
export interface RpcError {
  code: RpcErrorCode;
  message: string;
  data?: unknown;
}

export function rpcError(code: RpcErrorCode, data?: unknown): RpcError {
  return data === undefined
    ? { code, message: RPC_ERROR_MESSAGES[code] }
    : { code, message: RPC_ERROR_MESSAGES[code], data };
}
