import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { REPO_ROOT } from './repo-root';

/**
 * The test data kept beside the repository, not in it (`../shared/`: the auth vectors, the
 * upstream Rhai corpus). A clone of this repository alone lacks it, so specs find it through
 * this file only: where a file they need is absent, what needs it is skipped saying so, and
 * everything else still runs.
 */
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');

/** Where `file` (a path under ../shared/) is, whether or not it is there. */
export function sharedPath(file: string): string {
  return path.join(SHARED_DIR, file);
}

/** `file` under ../shared/ parsed as JSON; undefined where it is absent. */
export function readSharedJson<T>(file: string): T | undefined {
  const at = sharedPath(file);
  return fs.existsSync(at) ? (JSON.parse(fs.readFileSync(at, 'utf8')) as T) : undefined;
}

/** Why `files` cannot be read here (the skip's wording), or undefined when all are there. */
function whySkipped(files: readonly string[]): string | undefined {
  const absent = files.filter((f) => !fs.existsSync(sharedPath(f)));
  if (absent.length === 0) return undefined;
  return fs.existsSync(SHARED_DIR)
    ? `skipped: ${absent.join(', ')} not found in ../shared/ at ${SHARED_DIR}`
    : `skipped: ../shared/ not found at ${SHARED_DIR} (needs ${absent.join(', ')})`;
}

type EachOf<Row extends readonly unknown[]> = (
  table: readonly Row[],
) => (title: string, body: (...row: Row) => void) => void;

/** How many row values a `describe.each` title takes (`%s`, `%d`…), as jest formats it. */
const placeholders = (title: string): number => title.match(/%[sdifjoOp]/g)?.length ?? 0;

export interface SharedDescribe {
  (title: string, body: () => void): void;
  each<Row extends readonly [unknown, ...unknown[]]>(table: readonly Row[]): ReturnType<EachOf<Row>>;
}

/**
 * `describe` for what needs `files` from ../shared/. Where one is absent, each such describe
 * is registered as a `describe.skip` whose title says what is missing and where it was looked
 * for, holding one skipped placeholder, and the spec file warns once. The body is then never
 * called, so it may use the data at collection time.
 */
export function describeWithShared(...files: string[]): SharedDescribe {
  const why = whySkipped(files);
  const skip = (title: string): void => {
    describe.skip(`${title}: ${why}`, () => {
      it('runs where ../shared/ is in place', () => undefined);
    });
  };
  if (why !== undefined) {
    const spec = path.relative(REPO_ROOT, expect.getState().testPath ?? 'a spec');
    console.warn(`${spec}: what needs ../shared/ is ${why}`);
  }
  const withShared = (title: string, body: () => void): void =>
    why === undefined ? describe(title, body) : skip(title);
  withShared.each =
    <Row extends readonly [unknown, ...unknown[]]>(table: readonly Row[]) =>
    (title: string, body: (...row: Row) => void): void => {
      // jest's `each` types a row's arguments by rules of its own; a row is passed as it is
      if (why === undefined) (describe.each as EachOf<Row>)(table)(title, body);
      else for (const row of table) skip(format(title, ...row.slice(0, placeholders(title))));
    };
  return withShared;
}
