import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { describeOptionsError } from '../config';

/**
 * Runs a command's main with the rules of SPEC §6: a bad flag or unusable configuration
 * prints one line to stderr and exits non-zero, never a stack trace.
 */
export async function runCommand(program: Command, main: (program: Command) => Promise<void>): Promise<void> {
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n')[0] + '\n') });
  try {
    program.parse(process.argv);
    await main(program);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    const line =
      err instanceof ZodError ? describeOptionsError(err) : err instanceof Error ? err.message : String(err);
    process.stderr.write(`${program.name()}: ${line.split('\n')[0]}\n`);
    process.exit(1);
  }
}

/**
 * SIGINT/SIGTERM → `shutdown()` then exit 0; a second signal exits at once.
 */
export function onShutdownSignals(shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
