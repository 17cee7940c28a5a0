import { z } from 'zod';
import { RpcErrorCode, rpcError, type RpcError } from './errors';

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
  return { ok: false, error: rpcError(RpcErrorCode.InvalidParams, { issues: describeIssues(error) }) };
}

/**
 * Unions report one "invalid_union" issue holding each branch's issues; show the branch
 * the client most likely meant — fewest issues, then the deepest path — so the client
 * sees which field was wrong (e.g. `credentials.signature`), not "no form matched".
 */
function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  const flat: { path: PropertyKey[]; message: string }[] = [];
  const depth = (b: readonly z.core.$ZodIssue[]): number => Math.max(...b.map((i) => i.path.length));
  const visit = (issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): void => {
    for (const issue of issues) {
      if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        const best = issue.errors
          .filter((b) => b.length > 0)
          .reduce<readonly z.core.$ZodIssue[] | undefined>(
            (acc, b) =>
              !acc || b.length < acc.length || (b.length === acc.length && depth(b) > depth(acc)) ? b : acc,
            undefined,
          );
        if (best) visit(best, [...prefix, ...issue.path]);
        continue;
      }
      flat.push({ path: [...prefix, ...issue.path], message: issue.message });
    }
  };
  visit(error.issues, []);
  return flat.map((i) => ({ path: i.path.map(String).join('.') || '(params)', message: i.message }));
}
