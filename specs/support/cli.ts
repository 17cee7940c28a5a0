import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './repo-root';

const SOURCE_ROOTS = [
  'actors',
  'server',
  'auth',
  'cmd',
  'launcher',
  'queue',
  'rhai',
  'rpc',
  'transport',
  'webhooks',
  'worker',
  'client',
  'threads',
];
/** The modules at the top level (index.ts, log.ts…): every `.ts` file there, so none is missed. */
const topLevelSources = (): string[] =>
  fs.readdirSync(REPO_ROOT).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));

let built: string | undefined;

/**
 * Transpiles the sources (no type check: `npm test` runs tsc first) into a temporary
 * directory, the way `npm run build` lays them out, so command specs run real processes
 * from a clean clone without depending on, or touching, the shared dist/.
 */
export function buildOnce(): string {
  if (built) return built;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-build-'));
  // One per jest worker process: gone with it, so runs do not pile builds up in the temp dir.
  process.once('exit', () => fs.rmSync(out, { recursive: true, force: true }));
  const sources = topLevelSources();
  for (const dir of SOURCE_ROOTS) {
    if (!fs.existsSync(path.join(REPO_ROOT, dir))) continue;
    for (const entry of fs.readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) sources.push(path.join(dir, entry));
    }
  }
  for (const source of sources) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(REPO_ROOT, source), 'utf8'), {
      fileName: source,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        resolveJsonModule: true,
      },
    });
    const target = path.join(out, source.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
  fs.copyFileSync(path.join(REPO_ROOT, 'openrpc.json'), path.join(out, 'openrpc.json'));
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(out, 'package.json'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  built = out;
  return out;
}

export interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` on stdout; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<Run>();

/** Starts `cmd/<command>.js` from the transpiled tree (or from another built `tree`). */
export function launch(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  tree: string = buildOnce(),
): Run {
  const script = path.join(tree, 'cmd', `${command}.js`);
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run: Run = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = out.match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          }
          return Boolean(m);
        };
        const onExit = (): void => {
          if (check()) return;
          cleanup();
          reject(new Error(`${command} exited before printing ${pattern}: ${err.slice(-500)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${command} did not print ${pattern} in ${timeoutMs} ms: ${err.slice(-500)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.off('exit', onExit);
        };
        if (check()) return;
        child.stdout?.on('data', check);
        child.once('exit', onExit);
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(run);
  void exited.then(() => running.delete(run));
  return run;
}

/** Kills whatever a spec file left running (afterAll). */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const r of left) r.kill('SIGKILL');
  await Promise.all(left.map((r) => r.exited));
}
