/** What every scenario gets from main.ts, and the helpers they share. */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GENERATOR_THREADS, runLoad, split, summarise, type LoadSummary } from '../load-generator';
import type { RpcTask } from '../load-protocol';
import { cpuSplitMs, SERVER_CPU, startNode, type Child } from '../procs';
import type { Row } from '../report';

export interface BenchContext {
  quick: boolean;
  redisUrl: string;
  /** The bench's redis-server, whose CPU the play rows report (it is a stage of every play). */
  redisPid: number;
  /** Canonical compressed key of the circle every server serves. */
  circle: string;
  /** Directory for `node --cpu-prof` of our server, when profiling was asked for. */
  profileDir?: string;
  /** Called with each finished row (prints its JSON line at once). */
  emit(row: Row): void;
  /** Timing per measured load: warm-up and window, ms. */
  warmupMs: number;
  durationMs: number;
}

export interface Server extends Child {
  port: number;
}

/** Starts our gateway from dist, pinned to the server core; `--cpu-prof` when profiling. */
export async function startCircles(
  ctx: BenchContext,
  name: string,
  extra: string[] = [],
  cpus = SERVER_CPU,
): Promise<Server> {
  const nodeArgs = ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.profileDir, name)}`] : [];
  const child = await startNode(
    name,
    'cmd/circles-server.js',
    ['--port', '0', '--redis-url', ctx.redisUrl, '-k', ctx.circle, '--log-level', 'warn', ...extra],
    /listening on (ws:\/\/\S+)/,
    { cpus, nodeArgs },
  );
  return { ...child, port: Number(/:(\d+)$/.exec(child.ready)![1]) };
}

/** A server started from a baseline entry (prints `listening on ws://...`). */
export async function startBaseline(name: string, script: string, args: string[] = []): Promise<Server> {
  const child = await startNode(name, script, args, /listening on (ws:\/\/\S+)/, { cpus: SERVER_CPU });
  return { ...child, port: Number(/:(\d+)$/.exec(child.ready)![1]) };
}

export interface Measured extends LoadSummary {
  genCpuPct: number;
  /** Server CPU time per completed operation, µs. */
  serverUsPerOp: number;
  /** Server CPU over the run, % of one core (all its threads). */
  serverCpuPct: number;
  /** The share of the server's CPU spent in the kernel (sockets, wake-ups) rather than in its code, %. */
  serverKernelPct: number;
}

/** Closed-loop pipelined JSON-RPC against `server`: `conns` sockets × `depth` in flight. */
export async function measureRpc(
  ctx: BenchContext,
  server: Server,
  conns: number,
  depth: number,
  request: { prefix: string; suffix: string },
  pathName: string,
): Promise<Measured> {
  const tasks: RpcTask[] = split(conns, GENERATOR_THREADS).map((c) => ({
    mode: 'rpc',
    port: server.port,
    path: pathName,
    conns: c,
    depth,
    ...request,
    warmupMs: ctx.warmupMs,
    durationMs: ctx.durationMs,
    maxRequests: 20_000_000,
  }));
  let cpu0 = { userMs: 0, sysMs: 0 };
  let t0 = 0;
  const run = await runLoad(tasks, () => {
    cpu0 = cpuSplitMs(server.pid);
    t0 = performance.now();
    return Promise.resolve();
  });
  const cpu1 = cpuSplitMs(server.pid);
  const sysMs = cpu1.sysMs - cpu0.sysMs;
  const serverMs = cpu1.userMs - cpu0.userMs + sysMs;
  const wallMs = performance.now() - t0;
  const s = summarise(run.results);
  // Server CPU covers warm-up and drain too; spread over all operations of the run.
  const totalOps = s.count * ((ctx.warmupMs + ctx.durationMs) / ctx.durationMs);
  return {
    ...s,
    genCpuPct: run.genCpuPct,
    serverUsPerOp: totalOps > 0 ? (serverMs * 1000) / totalOps : NaN,
    serverCpuPct: (serverMs / wallMs) * 100,
    serverKernelPct: serverMs > 0 ? (sysMs / serverMs) * 100 : NaN,
  };
}

export const WHOAMI = { prefix: '{"jsonrpc":"2.0","id":', suffix: ',"method":"whoami"}' };
export const ms = (us: number): number => us / 1000;
