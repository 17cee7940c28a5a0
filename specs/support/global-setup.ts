import { execFileSync } from 'node:child_process';

/** Fails the run at once, with the fix, when the machine has no redis-server. */
export default function globalSetup(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'the specs start their own redis-server, which is not installed: apt-get install redis-server',
    );
  }
}
