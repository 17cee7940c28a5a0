import path from 'node:path';

/** The repository's root (this file is specs/support/repo-root.ts), wherever a spec lives. */
export const REPO_ROOT = path.resolve(__dirname, '../..');
