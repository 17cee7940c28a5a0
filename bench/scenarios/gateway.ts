/**
 * (a) `whoami` round trips against our gateway, and baselines (1): bare uWS echo, uWS
 * JSON-RPC echo, `ws` JSON-RPC echo — each a fresh child process on the same pinned core,
 * driven by the same generator with the same frames.
 */
import type { Row } from '../report';
import {
  ms,
  measureRpc,
  startBaseline,
  startCircles,
  WHOAMI,
  type BenchContext,
  type Measured,
  type Server,
} from './context';

type Kind = 'circles' | 'circles-ws' | 'uws-echo' | 'uws-jsonrpc' | 'ws-jsonrpc';
const KINDS: Kind[] = ['uws-echo', 'uws-jsonrpc', 'ws-jsonrpc', 'circles', 'circles-ws'];

async function start(ctx: BenchContext, kind: Kind): Promise<Server> {
  if (kind === 'circles') return startCircles(ctx, 'a-circles');
  // the transport Node 22/24 get (no uWS binary there), measured against its own baseline
  if (kind === 'circles-ws') return startCircles(ctx, 'a-circles-ws', ['--transport', 'ws']);
  if (kind === 'ws-jsonrpc') return startBaseline(kind, 'bench/baselines/ws-echo.js');
  return startBaseline(kind, 'bench/baselines/uws-echo.js', [kind === 'uws-echo' ? 'echo' : 'jsonrpc']);
}

export async function runGateway(ctx: BenchContext): Promise<Row[]> {
  const configs: [number, number][] = ctx.quick
    ? [
        [1, 1],
        [64, 16],
      ]
    : [
        [1, 1],
        [1, 16],
        [64, 1],
        [64, 16],
        [512, 1],
        [512, 16],
      ];
  // All four servers stay up (idle ones cost nothing) and each configuration runs them back to
  // back, in several rounds: the machine drifts and is shared, so neighbours in time compare best.
  const rounds = ctx.quick ? 1 : 3;
  const servers = new Map<Kind, Server>();
  const runs = new Map<string, Measured[]>();
  try {
    for (const kind of KINDS) servers.set(kind, await start(ctx, kind));
    for (let round = 0; round < rounds; round++) {
      for (const [c, d] of configs) {
        for (const kind of KINDS) {
          const m = await measureRpc(ctx, servers.get(kind)!, c, d, WHOAMI, `/${ctx.circle}`);
          const key = `${kind} ${c}x${d}`;
          runs.set(key, [...(runs.get(key) ?? []), m]);
          process.stderr.write(
            `  ${kind} ${c}×${d}: ${Math.round(m.rate)} msg/s p50 ${ms(m.p50Us).toFixed(2)} ms p99 ${ms(m.p99Us).toFixed(2)} ms ` +
              `errors ${m.errors} server ${m.serverUsPerOp.toFixed(1)} µs/msg, ${m.serverCpuPct.toFixed(0)} % CPU; generator ${m.genCpuPct.toFixed(0)} %\n`,
          );
        }
      }
    }
  } finally {
    await Promise.allSettled([...servers.values()].map((s) => s.stop()));
  }
  // The run with the median rate stands for each (server, configuration).
  const got = new Map<string, Measured>();
  for (const [key, ms_] of runs)
    got.set(key, [...ms_].sort((a, b) => a.rate - b.rate)[Math.floor(ms_.length / 2)]!);
  const rows: Row[] = [];
  const detail = (m: Measured): Row['detail'] => ({
    'p50 ms': Number(ms(m.p50Us).toFixed(2)),
    'p99 ms': Number(ms(m.p99Us).toFixed(2)),
    'server µs/msg': Number(m.serverUsPerOp.toFixed(1)),
    'server CPU %': Math.round(m.serverCpuPct),
    'generator CPU %': Math.round(m.genCpuPct),
    errors: m.errors,
  });
  for (const [c, d] of configs) {
    const ours = got.get(`circles ${c}x${d}`)!;
    const uws = got.get(`uws-jsonrpc ${c}x${d}`)!;
    const wsb = got.get(`ws-jsonrpc ${c}x${d}`)!;
    const echo = got.get(`uws-echo ${c}x${d}`)!;
    const key = c === 64 && d === 16;
    const row: Row = {
      scenario: `(a) whoami ${c} conns × depth ${d} vs uWS JSON-RPC echo`,
      ours: ours.rate,
      baseline: uws.rate,
      unit: 'msg/s',
      ratio: ours.rate / uws.rate,
      target: key ? '≥ 0.50' : '',
      met: key ? ours.rate / uws.rate >= 0.5 && ours.errors === 0 : undefined,
      detail: detail(ours),
    };
    rows.push(row);
    ctx.emit(row);
    const wsRow: Row = {
      scenario: `(a) whoami ${c} conns × depth ${d} vs ws JSON-RPC echo`,
      ours: ours.rate,
      baseline: wsb.rate,
      unit: 'msg/s',
      ratio: ours.rate / wsb.rate,
      target: key ? '> 1.00' : '',
      met: key ? ours.rate > wsb.rate : undefined,
      detail: {
        'ws p99 ms': Number(ms(wsb.p99Us).toFixed(2)),
        'ws server µs/msg': Number(wsb.serverUsPerOp.toFixed(1)),
      },
    };
    rows.push(wsRow);
    ctx.emit(wsRow);
    const onWs = got.get(`circles-ws ${c}x${d}`)!;
    const onWsRow: Row = {
      scenario: `(a) whoami ${c} conns × depth ${d}, ws transport vs ws JSON-RPC echo`,
      ours: onWs.rate,
      baseline: wsb.rate,
      unit: 'msg/s',
      ratio: onWs.rate / wsb.rate,
      target: '',
      detail: { ...detail(onWs), 'vs uws transport': Number((onWs.rate / ours.rate).toFixed(2)) },
    };
    rows.push(onWsRow);
    ctx.emit(onWsRow);
    const base: Row = {
      scenario: `(1) baseline ${c} × ${d}: bare uWS echo / uWS JSON-RPC echo`,
      ours: null,
      baseline: echo.rate,
      unit: 'msg/s',
      ratio: uws.rate / echo.rate,
      target: '',
      detail: {
        'uWS JSON-RPC msg/s': Math.round(uws.rate),
        'echo server µs/msg': Number(echo.serverUsPerOp.toFixed(1)),
        'JSON-RPC server µs/msg': Number(uws.serverUsPerOp.toFixed(1)),
        'generator CPU % echo/JSON-RPC': `${Math.round(echo.genCpuPct)}/${Math.round(uws.genCpuPct)}`,
      },
    };
    rows.push(base);
    ctx.emit(base);
  }
  return rows;
}
