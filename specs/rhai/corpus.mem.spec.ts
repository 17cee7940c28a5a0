/**
 * Table-driven conformance test over the upstream Rhai corpus (../shared/rhai-corpus).
 * Cases listed in known-failures.json (beside this file) must still fail (the list may only shrink).
 */
import * as fs from 'fs';
import * as path from 'path';
import { evaluate, RHAI_DEFAULT_LIMITS, type EngineLimits, type RunResult } from '../../rhai/index';
import { FnPtr, RChar, RFloat } from '../../rhai/values';
import { describeWithShared, readSharedJson } from '../support/shared-data';

interface Case {
  id: string;
  script: string;
  expect?: unknown;
  error?: string;
  float?: boolean;
  tolerance?: number;
  line?: number;
  position?: number;
  options?: Record<string, unknown>;
}

const CORPUS_FILES = ['rhai-corpus/upstream-cases.json', 'rhai-corpus/upstream-cases-extra.json'];
const cases: Case[] = CORPUS_FILES.flatMap((file) => readSharedJson<Case[]>(file) ?? []);
const knownFailures: Record<string, string> = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'known-failures.json'), 'utf8'),
);

const OPTION_KEYS: Record<string, keyof EngineLimits> = {
  max_operations: 'maxOperations',
  max_call_levels: 'maxCallLevels',
  max_expr_depth: 'maxExprDepth',
  max_function_expr_depth: 'maxFunctionExprDepth',
  max_string_size: 'maxStringSize',
  max_array_size: 'maxArraySize',
  max_map_size: 'maxMapSize',
};

/** Engine value → corpus encoding (§12). */
function encode(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint')
    return Math.abs(Number(v)) > Number.MAX_SAFE_INTEGER ? { int: String(v) } : Number(v);
  if (v instanceof RFloat) return v.v;
  if (v instanceof RChar) return { char: v.c };
  if (Array.isArray(v)) return v.map(encode);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, encode(x)]));
  if (v instanceof FnPtr) return { fn: v.name };
  if (typeof v === 'object' && v !== null) return { other: String(v.constructor.name) };
  return v;
}

function runCase(c: Case): RunResult {
  const limits: Partial<EngineLimits> = { ...RHAI_DEFAULT_LIMITS };
  const opts = c.options ?? {};
  for (const [k, v] of Object.entries(opts)) if (OPTION_KEYS[k]) limits[OPTION_KEYS[k]] = v as number;
  const scope = (opts.scope ?? {}) as Record<string, unknown>;
  const consts = new Set((opts.scope_constants ?? []) as string[]);
  const variables: Record<string, unknown> = {};
  const constants: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(scope)) (consts.has(k) ? constants : variables)[k] = v;
  return evaluate(c.script, { variables, constants, onPrint: () => undefined }, limits);
}

/** Returns a failure description, or null when the case passes. */
function check(c: Case): string | null {
  let r: RunResult;
  try {
    r = runCase(c);
  } catch (e) {
    return `threw ${String(e)}`;
  }
  if (c.error !== undefined) {
    if (r.ok) return `expected ${c.error}, got value ${JSON.stringify(encode(r.value))}`;
    if (r.error.kind !== c.error) return `expected ${c.error}, got ${r.error.kind}: ${r.error.message}`;
    if (c.line !== undefined && r.error.line !== c.line)
      return `expected line ${c.line}, got ${r.error.line}`;
    if (c.position !== undefined && r.error.position !== c.position)
      return `expected position ${c.position}, got ${r.error.position}`;
    return null;
  }
  if (!r.ok) return `expected value, got ${r.error.kind}: ${r.error.message}`;
  const got = encode(r.value);
  if (c.float && !(r.value instanceof RFloat)) return `expected a float, got ${JSON.stringify(got)}`;
  if (!c.float && typeof c.expect === 'number' && r.value instanceof RFloat)
    return `expected an int, got float ${got}`;
  if (typeof c.expect === 'number' && typeof got === 'number' && c.tolerance !== undefined) {
    return Math.abs(got - c.expect) <= c.tolerance
      ? null
      : `expected ${c.expect} ± ${c.tolerance}, got ${got}`;
  }
  return JSON.stringify(got) === JSON.stringify(c.expect) || deepEqual(got, c.expect)
    ? null
    : `expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return (
    ka.length === kb.length && ka.every((k, i) => k === kb[i] && deepEqual((a as never)[k], (b as never)[k]))
  );
}

describeWithShared(...CORPUS_FILES)('Rhai upstream corpus', () => {
  it('has 602 unique cases', () => {
    expect(cases.length).toBe(602);
    expect(new Set(cases.map((c) => c.id)).size).toBe(602);
  });

  it('known-failures list only names corpus cases', () => {
    const ids = new Set(cases.map((c) => c.id));
    expect(Object.keys(knownFailures).filter((id) => !ids.has(id))).toEqual([]);
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const failure = check(c);
    if (knownFailures[c.id] !== undefined) {
      expect({ id: c.id, stillFails: failure !== null }).toEqual({ id: c.id, stillFails: true });
    } else {
      expect({ id: c.id, script: c.script, failure }).toEqual({ id: c.id, script: c.script, failure: null });
    }
  });
});
