/**
 * Child processes of the bench: the servers under test, baselines, redis-server. Servers run
 * pinned to CPU 0 and the generator to CPU 1 when `taskset` exists, so neither steals the
 * other's core; Redis and script workers may use any core (as they would in production).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { statCpuMs } from './proc-stat';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const HAS_TASKSET = spawnSync('taskset', ['-V']).status === 0 && os.cpus().length >= 2;
export const SERVER_CPU = '0';
export const GENERATOR_CPU = '1';
export const ANY_CPU = `0-${os.cpus().length - 1}`;
export const LOG_DIR = path.join(os.tmpdir(), 'circles-bench');
const DIST = path.resolve(__dirname, '..');

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** First capture group of the readiness line (e.g. the URL). */
  ready: string;
  stop(): Promise<void>;
}

/**
 * Starts `node <script> ...args` (script relative to dist/), pinned to `cpus` when possible,
 * and resolves once stdout prints a line matching `readyLine`. stderr goes to a log file so
 * a full pipe can never stall the child.
 */
export async function startNode(
  name: string,
  script: string,
  args: string[],
  readyLine: RegExp,
  opts: { cpus?: string; nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<Child> {
  const node = [...(opts.nodeArgs ?? []), path.join(DIST, script), ...args];
  return startProcess(name, process.execPath, node, readyLine, opts);
}

export async function startProcess(
  name: string,
  cmd: string,
  args: string[],
  readyLine: RegExp,
  opts: { cpus?: string; timeoutMs?: number } = {},
): Promise<Child> {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const err = fs.openSync(path.join(LOG_DIR, `${name}.log`), 'w');
  const [file, argv] = HAS_TASKSET && opts.cpus ? ['taskset', ['-c', opts.cpus, cmd, ...args]] : [cmd, args];
  const proc = spawn(file, argv, { stdio: ['ignore', 'pipe', err] });
  fs.closeSync(err);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${name}: not ready after ${opts.timeoutMs ?? 20_000} ms: ${out}`)),
      opts.timeoutMs ?? 20_000,
    );
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = readyLine.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
      if (out.length > 65536) out = out.slice(-4096);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code} before ready (see ${LOG_DIR}/${name}.log): ${out.trim()}`));
    });
  });
  proc.stdout!.resume(); // keep draining: a child blocked on stdout would skew the run
  return {
    proc,
    pid: proc.pid!,
    ready,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<{ url: string; child: Child }> {
  const port = await freePort();
  const child = await startProcess(
    'redis',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    /Ready to accept connections/,
    { cpus: ANY_CPU },
  );
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** utime and stime of a process (all its threads), in ms: its own code, and the kernel's on its behalf. */
export function cpuSplitMs(pid: number): { userMs: number; sysMs: number } {
  return statCpuMs(`/proc/${pid}`);
}

/** utime + stime of a process (all its threads), in ms. */
export function cpuMs(pid: number): number {
  const { userMs, sysMs } = cpuSplitMs(pid);
  return userMs + sysMs;
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** The distinct CPU lists a process's threads may run on: proves a pinning reached every thread. */
export function cpusOf(pid: number): string {
  const lists = new Set<string>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /Cpus_allowed_list:\s+(\S+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      if (m) lists.add(m[1]!);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return [...lists].join(' ');
}
