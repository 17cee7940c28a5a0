import { CommanderError } from 'commander';
import { ZodError, type z } from 'zod';
import { firstIssueLine } from '../rpc/zod-issues';
import {
  buildProgram,
  cliValues,
  configReport,
  FlagError,
  resolveSettings,
  type CommandDefinition,
  type Settings,
} from './options';

/** Exit codes: bad flags, environment or config file; a failure once running. */
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

/**
 * Runs a command with the rules of SPEC §6: flags > environment > `--config` file >
 * defaults; `--print-config` prints the result and exits 0; a bad flag or unusable
 * configuration prints one line to stderr and exits 2, a failure to start exits 1; never a
 * stack trace.
 */
export async function runCommand<S extends z.ZodObject>(
  def: CommandDefinition<S>,
  main: (values: z.output<S>, args: string[]) => Promise<void>,
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const program = buildProgram(def)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  let settings: Settings<z.output<S>>;
  try {
    program.parse(argv);
    const given = program.opts<{ config?: string; printConfig?: boolean }>();
    settings = resolveSettings({
      specs: def.flags,
      schema: def.schema,
      cli: cliValues(program, def.flags),
      env,
      configFile: given.config ?? (env.CIRCLES_CONFIG || undefined),
      ignoredConfigKeys: def.ignoredConfigKeys,
    });
    if (given.printConfig) {
      process.stdout.write(configReport(def.flags, settings as Settings<Record<string, unknown>>));
      process.exit(0);
    }
    if (def.argument && program.args.length === 0) {
      throw new FlagError(`missing required argument '${def.argument.name}'`);
    }
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) process.exit(0); // --help, --version
    return fail(def.name, err);
  }
  try {
    await main(settings.values, program.args);
  } catch (err) {
    fail(def.name, err);
  }
}

function fail(name: string, err: unknown): never {
  const usage = err instanceof CommanderError || err instanceof FlagError || err instanceof ZodError;
  const line =
    err instanceof ZodError
      ? firstIssueLine(err)
      : err instanceof CommanderError
        ? err.message.replace(/^error: /, '')
        : err instanceof Error
          ? err.message
          : String(err);
  process.stderr.write(`${name}: ${line.split('\n')[0]}\n`);
  process.exit(usage ? EXIT_USAGE : EXIT_FAILURE);
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
