import { z } from 'zod';
import { RpcErrorCode, rpcError, type RpcError } from './errors';
import { describeIssues } from './zod-issues';

/** The `path` of an issue with the params as a whole (e.g. `whoami` given `{x: 1}`). */
const PARAMS_ROOT = '(params)';

/**
 * Parameter schemas of every method, accepting the by-name and by-position forms SPEC §2
 * lists, each normalised to one object shape.
 */
const pubkey = z.string().min(1).max(200);
const signature = z.string().min(1).max(200);
/** Checked further (format, EIP-55 checksum) by the session, which names the field. */
const address = z.string().min(1).max(200);
const credentials = z.object({ pubkey, signature });
/**
 * Any text up to a bound: a token of the wrong shape is an invalid credential (-32002,
 * counted as a failed login), not invalid params. Tokens are 146 characters (auth/resume-token.ts).
 */
const resumeToken = z.string().max(1024);
/** Task ids are UUIDs (SPEC §4); the shape is checked so that no other key is ever read. */
const taskId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a task id (UUID)');
const none = z.union([z.undefined(), z.tuple([]), z.object({}).strict()]);
const addressNonce = z.object({ address });
const addressLogin = z.object({ address, signature });
const resumeLogin = z.object({ resume_token: resumeToken });

export const MethodParams = {
  fetch_nonce: z.union([
    z.object({ pubkey }),
    addressNonce,
    z.tuple([pubkey]).transform(([pk]) => ({ pubkey: pk })),
  ]),
  authenticate: z.union([
    credentials,
    z.object({ credentials }).transform((p) => p.credentials),
    z.tuple([pubkey, signature]).transform(([pk, sig]) => ({ pubkey: pk, signature: sig })),
    z.tuple([credentials]).transform(([c]) => c),
    addressLogin,
    resumeLogin,
  ]),
  whoami: none,
  play: z.union([
    z.object({ script: z.string() }),
    z.tuple([z.string()]).transform(([script]) => ({ script })),
  ]),
  task_status: z.union([
    z.object({ task_id: taskId }),
    z.tuple([taskId]).transform(([id]) => ({ task_id: id })),
  ]),
  'rpc.discover': none,
} as const;

export type MethodName = keyof typeof MethodParams;

/**
 * By-name forms that a key of their own names (`address`, `resume_token`): when params carry
 * that key and do not parse, the errors reported are that form's — `{address}` without a
 * signature names `signature`, not the `pubkey` of the first form.
 */
const NAMED_FORMS: Partial<Record<MethodName, readonly (readonly [string, z.ZodType])[]>> = {
  fetch_nonce: [['address', addressNonce]],
  authenticate: [
    ['address', addressLogin],
    ['resume_token', resumeLogin],
  ],
};

function namedForm(method: MethodName, params: unknown): z.ZodType | undefined {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  return NAMED_FORMS[method]?.find(([key]) => key in params)?.[1];
}
export type ParamsOf<M extends MethodName> = z.output<(typeof MethodParams)[M]>;
export const METHOD_NAMES = Object.keys(MethodParams) as MethodName[];

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(MethodParams, name);
}

/** Validates params; on failure a -32602 error whose data names each offending field. */
export function parseParams<M extends MethodName>(
  method: M,
  params: unknown,
): { ok: true; value: ParamsOf<M> } | { ok: false; error: RpcError } {
  const parsed = MethodParams[method].safeParse(params);
  if (parsed.success) return { ok: true, value: parsed.data as ParamsOf<M> };
  const error = namedForm(method, params)?.safeParse(params).error ?? parsed.error;
  return {
    ok: false,
    error: rpcError(RpcErrorCode.InvalidParams, { issues: describeIssues(error, PARAMS_ROOT) }),
  };
}
