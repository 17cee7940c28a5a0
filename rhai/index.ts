/**
 * Sandboxed interpreter for the Rhai subset described in shared/rhai-corpus/SUBSET.md.
 * Pipeline: lexer → parser (AST) → resolver + closure compiler → run (map: README.md).
 * Scripts can reach nothing but their own values, the built-ins and the host bindings.
 */
import { compileScript, type CompiledProgram } from './compile/program';
import type { RhaiErrorKind } from './error-kinds';
import { ReturnSignal, RhaiFailure } from './errors';
import { display } from './format';
import { jsonToValue, valueToJson } from './json';
import { type EngineLimits, RHAI_DEFAULT_LIMITS, SANDBOX_LIMITS } from './limits';
import { parseScript } from './parser';
import { Frame, GlobalVar, Runtime } from './runtime';
import { type StoreAccess, StoreError } from './store-access';
import type { Value } from './values';

export { RHAI_DEFAULT_LIMITS, SANDBOX_LIMITS, StoreError };
export type { EngineLimits, RhaiErrorKind, StoreAccess };

/** An error reported by the engine. `message` is formatted as Rhai prints it. */
export interface RhaiError {
  kind: RhaiErrorKind;
  message: string;
  line?: number;
  position?: number;
}

/** What the host exposes to a script run. */
export interface HostBindings {
  /** plain JSON values bound as Rhai constants, e.g. CONTEXT_ID, CALLER_ID, event */
  constants?: Record<string, unknown>;
  /** plain JSON values bound as ordinary (assignable) variables */
  variables?: Record<string, unknown>;
  /** enables store_get / store_set / store_delete / store_keys */
  store?: StoreAccess;
  /** print output (display form) — also receives debug output unless onDebug is set */
  onPrint?: (line: string) => void;
  /** debug output (debug form) */
  onDebug?: (line: string) => void;
}

/** A compiled program, reusable across runs (holds no run state). */
export interface Program {
  readonly __rhaiProgram: true;
}

interface ProgramImpl extends Program {
  readonly compiled: CompiledProgram;
}

export type ParseResult = { ok: true; program: Program } | { ok: false; error: RhaiError };
export type RunResult = { ok: true; value: unknown; output: string } | { ok: false; error: RhaiError };

function limitsOf(l?: Partial<EngineLimits>): EngineLimits {
  return { ...SANDBOX_LIMITS, ...(l ?? {}) };
}

function toRhaiError(e: unknown): RhaiError {
  if (e instanceof RhaiFailure) {
    const out: RhaiError = { kind: e.kind, message: e.message };
    if (e.pos.line > 0) {
      out.line = e.pos.line;
      out.position = e.pos.pos;
    }
    return out;
  }
  if (e instanceof RangeError) return { kind: 'ErrorStackOverflow', message: 'Stack overflow' };
  return { kind: 'ErrorSystem', message: `Internal error: ${e instanceof Error ? e.message : String(e)}` };
}

/** Parse and compile a script. Limits default to {@link SANDBOX_LIMITS}. */
export function parse(source: string, limits?: Partial<EngineLimits>): ParseResult {
  const l = limitsOf(limits);
  try {
    const script = parseScript(source, l);
    const program: ProgramImpl = { __rhaiProgram: true, compiled: compileScript(script) };
    return { ok: true, program };
  } catch (e) {
    return { ok: false, error: toRhaiError(e) };
  }
}

/** Run a compiled program. Limits default to {@link SANDBOX_LIMITS}. Never throws. */
export function run(
  program: Program,
  bindings: HostBindings = {},
  limits?: Partial<EngineLimits>,
): RunResult {
  const l = limitsOf(limits);
  const { compiled } = program as ProgramImpl;
  try {
    const globals = new Map<string, GlobalVar>();
    for (const [k, v] of Object.entries(bindings.variables ?? {}))
      globals.set(k, new GlobalVar(jsonToValue(v), false));
    for (const [k, v] of Object.entries(bindings.constants ?? {}))
      globals.set(k, new GlobalVar(jsonToValue(v), true));
    const rt = new Runtime(l, globals, {
      onPrint: bindings.onPrint,
      onDebug: bindings.onDebug,
      store: bindings.store,
    });
    const frame = new Frame(new Array<Value>(compiled.main.nslots), rt, undefined, []);
    let value: Value;
    try {
      value = compiled.main.body(frame);
    } catch (e) {
      if (!(e instanceof ReturnSignal)) throw e;
      value = e.value;
    }
    return { ok: true, value, output: display(value) };
  } catch (e) {
    return { ok: false, error: toRhaiError(e) };
  }
}

/** Parse + run. */
export function evaluate(source: string, bindings?: HostBindings, limits?: Partial<EngineLimits>): RunResult {
  const p = parse(source, limits);
  return p.ok ? run(p.program, bindings, limits) : p;
}

/** Engine value → JSON value. Throws for values with no JSON form (function pointers, ranges, ...). */
export function toJson(value: unknown): unknown {
  return valueToJson(value as Value);
}

/** JSON value → engine value (integers → int, other numbers → float, objects → object maps). */
export function fromJson(json: unknown): unknown {
  return jsonToValue(json);
}

/** Display form of an engine value (what `print` shows; unit → ""). */
export function displayValue(value: unknown): string {
  return display(value as Value);
}
