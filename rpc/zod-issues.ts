import type { z } from 'zod';

/**
 * The one way a zod failure becomes text, for JSON-RPC params (-32602 `data.issues`),
 * webhook payloads, command-line options and library options alike. Paths are spelled as
 * `-32602` has always put them on the wire (SPEC §2), so that contract is this syntax.
 */

/** A problem at a place in a value: `path` as {@link issuePath} spells it. */
export interface IssueText {
  readonly path: string;
  readonly message: string;
}

/** An issue with its raw path (unions already resolved to one branch). */
export interface FlatIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * A path as text: segments joined by dots, array indexes as plain numbers
 * (`credentials.signature`, `0`, `items.2.id`); `root` when the path is empty (the value
 * itself was wrong).
 */
export function issuePath(path: readonly PropertyKey[], root = ''): string {
  return path.length === 0 ? root : path.map(String).join('.');
}

/**
 * Every issue, with unions resolved: zod reports one `invalid_union` issue holding each
 * branch's issues, and "no form matched" tells a sender nothing, so the branch it most
 * likely meant is shown — fewest issues, then the deepest path — naming the field it got
 * wrong (e.g. `credentials.signature`).
 */
export function flattenIssues(error: z.ZodError): FlatIssue[] {
  const flat: FlatIssue[] = [];
  const depth = (b: readonly z.core.$ZodIssue[]): number => Math.max(...b.map((i) => i.path.length));
  const visit = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): void => {
    for (const issue of issues) {
      if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        const best = issue.errors
          .filter((b) => b.length > 0)
          .reduce<readonly z.core.$ZodIssue[] | undefined>(
            (acc, b) =>
              !acc || b.length < acc.length || (b.length === acc.length && depth(b) > depth(acc)) ? b : acc,
            undefined,
          );
        if (best) {
          visit(best, [...prefix, ...issue.path]);
          continue;
        }
      }
      flat.push({ path: [...prefix, ...issue.path], message: issue.message });
    }
  };
  visit(error.issues, []);
  return flat;
}

/** Every issue as `{path, message}`; `root` names the value itself (`(params)`, `(root)`). */
export function describeIssues(error: z.ZodError, root = ''): IssueText[] {
  return flattenIssues(error).map((i) => ({ path: issuePath(i.path, root), message: i.message }));
}

/** `path: message`, or the message alone for an issue of the value itself. */
export function issueLine(issue: IssueText): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** One line for the first issue (a command-line error, a log line). */
export function firstIssueLine(error: z.ZodError): string {
  const first = describeIssues(error)[0];
  return first ? issueLine(first) : 'invalid value';
}
