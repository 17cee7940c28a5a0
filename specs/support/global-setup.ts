import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo-root';

/** What a spec needs, lightest first; its file name ends `.<ring>.spec.ts` (see specs/README.md). */
export const RINGS = ['mem', 'redis', 'proc', 'browser'] as const;

/** Top-level folders that hold no code of their own, so no specs/ folder is named after them. */
const NOT_ROOMS = new Set(['specs', 'node_modules', 'dist', 'docs', 'coverage']);

/** `repo` (repo-wide checks) or a top-level code folder of the repository at `root`. */
function isRoom(root: string, name: string): boolean {
  if (name === 'repo') return true;
  if (name.startsWith('.') || NOT_ROOMS.has(name)) return false;
  return fs.statSync(path.join(root, name), { throwIfNoEntry: false })?.isDirectory() === true;
}

/**
 * Every `*.spec.ts` under specs/ that is not `specs/<room>/<subject>.<ring>.spec.ts`, with
 * what is wrong. `npm run test:fast` and `test:slow` select specs by ring, so a spec outside
 * these names would run in neither; it fails the run here instead.
 */
export function misplacedSpecs(specsDir = path.join(REPO_ROOT, 'specs')): string[] {
  const wrong: string[] = [];
  const entries = fs.readdirSync(specsDir, { recursive: true, encoding: 'utf8' });
  for (const entry of entries.filter((e) => e.endsWith('.spec.ts')).sort()) {
    const parts = entry.split(path.sep);
    const ring = /\.([a-z]+)\.spec\.ts$/.exec(entry)?.[1];
    if (parts.length !== 2 || !isRoom(path.dirname(specsDir), parts[0]!)) {
      wrong.push(`specs/${entry}: not in a room folder (specs/<room>/, <room> a top-level folder or repo)`);
    } else if (!(RINGS as readonly string[]).includes(ring ?? '')) {
      wrong.push(`specs/${entry}: its name does not end with a ring (.${RINGS.join('|.')}.spec.ts)`);
    }
  }
  return wrong;
}

/**
 * Fails the run at once, with the fix, when a spec is misnamed or misplaced, or when the
 * machine has no redis-server.
 */
export default function globalSetup(): void {
  const misplaced = misplacedSpecs();
  if (misplaced.length > 0) {
    throw new Error(
      `specs must be named specs/<room>/<subject>.<ring>.spec.ts (specs/README.md):\n  ${misplaced.join('\n  ')}`,
    );
  }
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'the specs start their own redis-server, which is not installed: apt-get install redis-server',
    );
  }
}
