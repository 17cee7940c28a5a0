#!/usr/bin/env node
/**
 * circles: the command-line client of a Circles gateway.
 *   circles play <url> <file|->   runs one script: its output on stdout, what it printed on stderr
 *   circles repl <url>            an interactive session
 * Exit codes: 0 done; 1 the script or a call failed; 2 bad usage or no connection.
 */
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  CirclesClient,
  privateKeySigner,
  randomPrivateKey,
  type ClientOptions,
  type Signer,
} from '../client';
import { errorLine, errorLogs, isConnectionFailure } from './circles-format';
import { runRepl } from './circles-repl';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE_OR_CONNECTION = 2;

/** Bad input before anything is sent: one line, exit 2. */
class UsageError extends Error {}

interface ClientFlags {
  key?: string;
  timeout?: number;
  connectTimeout?: number;
}

function milliseconds(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError('expected a whole number of milliseconds above 0');
  }
  return n;
}

function withClientFlags(command: Command): Command {
  return command
    .option('--key <hex>', 'private key to log in with (else $CIRCLES_KEY, else a throw-away key)')
    .option('--timeout <ms>', 'per-call timeout (default 60000)', milliseconds)
    .option('--connect-timeout <ms>', 'connection timeout (default 10000)', milliseconds);
}

function signerOf(flags: ClientFlags): { signer: Signer; throwAway: boolean } {
  const key = flags.key ?? (process.env.CIRCLES_KEY || undefined);
  if (key === undefined) return { signer: privateKeySigner(randomPrivateKey()), throwAway: true };
  try {
    return { signer: privateKeySigner(key), throwAway: false };
  } catch (err) {
    const from = flags.key !== undefined ? '--key' : 'CIRCLES_KEY';
    throw new UsageError(`${from}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function newClient(url: string, flags: ClientFlags, options: Partial<ClientOptions>): CirclesClient {
  try {
    return new CirclesClient({
      url,
      callTimeoutMs: flags.timeout,
      connectTimeoutMs: flags.connectTimeout,
      ...options,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Connects and logs in; says on stderr when the key is a throw-away one. */
async function openSession(client: CirclesClient, flags: ClientFlags): Promise<void> {
  const { signer, throwAway } = signerOf(flags);
  await client.connect();
  await client.login(signer);
  if (throwAway) {
    process.stderr.write(
      `circles: no --key or CIRCLES_KEY: logged in with a throw-away key (${await signer.identity()})\n`,
    );
  }
}

function readScript(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${file === '-' ? 'stdin' : file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

/** What a failed session step exits with, after saying why on stderr. */
function reportFailure(err: unknown): number {
  if (err instanceof UsageError || isConnectionFailure(err)) {
    process.stderr.write(`circles: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE_OR_CONNECTION;
  }
  for (const line of errorLogs(err)) process.stderr.write(`${line}\n`);
  process.stderr.write(`${errorLine(err)}\n`);
  return EXIT_FAILED;
}

async function play(url: string, file: string, flags: ClientFlags): Promise<number> {
  const script = readScript(file);
  const client = newClient(url, flags, { reconnect: false, heartbeatMs: 0 });
  try {
    await openSession(client, flags);
    const result = await client.play(script);
    if (result.output !== '') process.stdout.write(`${result.output}\n`);
    for (const line of result.logs ?? []) process.stderr.write(`${line}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportFailure(err);
  } finally {
    await client.close();
  }
}

async function repl(url: string, flags: ClientFlags): Promise<number> {
  // a long session: reconnect, re-authenticate, and let calls wait for the connection
  const client = newClient(url, flags, { whileDisconnected: 'wait' });
  try {
    await openSession(client, flags);
    client.on('close', (d: { willReconnect: boolean }) => {
      if (d.willReconnect) process.stderr.write('circles: connection lost, reconnecting…\n');
    });
    client.on('error', (e: unknown) =>
      process.stderr.write(`circles: ${e instanceof Error ? e.message : String(e)}\n`),
    );
    await runRepl(client, { input: process.stdin, output: process.stdout, errors: process.stderr });
    return EXIT_OK;
  } catch (err) {
    return reportFailure(err);
  } finally {
    await client.close();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let code = EXIT_OK;
  const program = new Command('circles')
    .description('Command-line client of a Circles gateway')
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  withClientFlags(
    program
      .command('play')
      .description('run a Rhai script in a circle and print its output')
      .argument('<url>', 'ws(s)://host:port/<circle_pk>')
      .argument('<file>', 'the script file, or - to read it from stdin'),
  ).action(async (url: string, file: string, flags: ClientFlags) => {
    code = await play(url, file, flags);
  });
  withClientFlags(
    program
      .command('repl')
      .description('an interactive session: type Rhai, see results (.exit to leave)')
      .argument('<url>', 'ws(s)://host:port/<circle_pk>'),
  ).action(async (url: string, flags: ClientFlags) => {
    code = await repl(url, flags);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help shown (asked for: 0; for lack of a command: commander printed it, usage error)
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.help' ||
        err.code === 'commander.version'
      ) {
        return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE_OR_CONNECTION;
      }
      process.stderr.write(`circles: ${err.message.replace(/^error: /, '')}\n`);
      return EXIT_USAGE_OR_CONNECTION;
    }
    return reportFailure(err);
  }
  return code;
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
    // nothing should be left running; if something is, do not hang the shell over it
    setTimeout(() => process.exit(code), 2000).unref();
  });
}
