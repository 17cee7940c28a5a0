/**
 * The wire types of the Circles JSON-RPC API (SPEC §2–§3), written to match `openrpc.json`.
 * `RPC_CONTRACT` is the same contract as data: `specs/client/rpc-types.mem.spec.ts` compares it with
 * the OpenRPC document, and the type assertions at the end of this file tie it to the types,
 * so the document, the table and the types cannot drift apart silently.
 */

/** `fetch_nonce` result: a single-use nonce bound to this session. */
export interface NonceResult {
  nonce: string;
  /** Unix seconds. */
  expires_at: number;
}

/** `authenticate` result (every login form). */
export interface AuthResult {
  authenticated: true;
  /** Canonical compressed public key hex of the identity. */
  pubkey: string;
  /** Its Ethereum address, EIP-55 checksummed. */
  address: string;
  /** Re-authenticates on any connection to this circle until `resume_expires_at`. */
  resume_token: string;
  /** Unix seconds. */
  resume_expires_at: number;
}

/** `whoami` result. */
export interface WhoamiResult {
  authenticated: boolean;
  pubkey: string | null;
  address: string | null;
  /** Canonical compressed public key hex of this session's circle. */
  circle: string;
}

/** `play` result. */
export interface PlayResult {
  /** Display form of the script's final value; unit is the empty string. */
  output: string;
  task_id: string;
  /** What the script printed with `print`/`debug`, in order; absent when nothing. */
  logs?: string[];
}

/** The states of a task, in the order it goes through them. */
export const TASK_STATES = ['pending', 'processing', 'completed', 'error'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** `task_status` result. */
export interface TaskStatusResult {
  task_id: string;
  status: TaskState;
  output?: string;
  error?: string;
}

/** `data` of a `-32000 Execution Error`: the engine's message and, when known, where. */
export interface ExecutionErrorData {
  task_id: string;
  error: string;
  kind?: string;
  /** 1-based. */
  line?: number;
  /** 1-based column. */
  position?: number;
  logs?: string[];
}

type NoParams = undefined | [] | Record<string, never>;
interface PubkeySignature {
  pubkey: string;
  signature: string;
}

/** Every method with the param forms it accepts (by name or by position) and its result. */
export interface RpcMethods {
  fetch_nonce: { params: { pubkey: string } | [pubkey: string] | { address: string }; result: NonceResult };
  authenticate: {
    params:
      | PubkeySignature
      | { credentials: PubkeySignature }
      | [pubkey: string, signature: string]
      | [credentials: PubkeySignature]
      | { address: string; signature: string }
      | { resume_token: string };
    result: AuthResult;
  };
  whoami: { params: NoParams; result: WhoamiResult };
  play: { params: { script: string } | [script: string]; result: PlayResult };
  task_status: { params: { task_id: string } | [task_id: string]; result: TaskStatusResult };
  /** The OpenRPC document itself. */
  'rpc.discover': { params: NoParams; result: Record<string, unknown> };
}

export type MethodName = keyof RpcMethods;
export type ParamsOf<M extends MethodName> = RpcMethods[M]['params'];
export type ResultOf<M extends MethodName> = RpcMethods[M]['result'];

/**
 * The contract as data: for each method, the names of its params as the OpenRPC document
 * lists them, and the required and optional property names of its result object.
 */
export const RPC_CONTRACT = {
  fetch_nonce: { params: ['pubkey', 'address'], required: ['nonce', 'expires_at'], optional: [] },
  authenticate: {
    params: ['pubkey', 'signature', 'address', 'resume_token'],
    required: ['authenticated', 'pubkey', 'address', 'resume_token', 'resume_expires_at'],
    optional: [],
  },
  whoami: { params: [], required: ['authenticated', 'pubkey', 'address', 'circle'], optional: [] },
  play: { params: ['script'], required: ['output', 'task_id'], optional: ['logs'] },
  task_status: { params: ['task_id'], required: ['task_id', 'status'], optional: ['output', 'error'] },
  'rpc.discover': { params: [], required: [], optional: [] },
} as const satisfies Record<
  MethodName,
  { params: readonly string[]; required: readonly string[]; optional: readonly string[] }
>;

// Compile-time ties between RPC_CONTRACT and the interfaces above: a property added to one and
// not the other fails `tsc`.
/** The properties of `ExecutionErrorData`, as `components.schemas.ExecutionErrorData` lists them. */
export const EXECUTION_ERROR_DATA_CONTRACT = {
  required: ['task_id', 'error'],
  optional: ['kind', 'line', 'position', 'logs'],
} as const;

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;
type Contract = typeof RPC_CONTRACT;
type Matches<T, C extends { required: readonly string[]; optional: readonly string[] }> = [
  Equal<RequiredKeys<T>, C['required'][number]>,
  Equal<OptionalKeys<T>, C['optional'][number]>,
] extends [true, true]
  ? true
  : false;
type ResultMatches<M extends MethodName, T> = Matches<T, Contract[M]>;
type Assert<T extends true> = T;
export type ContractCheck = [
  Assert<ResultMatches<'fetch_nonce', NonceResult>>,
  Assert<ResultMatches<'authenticate', AuthResult>>,
  Assert<ResultMatches<'whoami', WhoamiResult>>,
  Assert<ResultMatches<'play', PlayResult>>,
  Assert<ResultMatches<'task_status', TaskStatusResult>>,
  Assert<Matches<ExecutionErrorData, typeof EXECUTION_ERROR_DATA_CONTRACT>>,
  Assert<Equal<keyof RpcMethods, keyof Contract>>,
];
