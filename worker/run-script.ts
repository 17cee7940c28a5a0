import { parse, run, SANDBOX_LIMITS, type Program, type RhaiError, type StoreAccess } from '../rhai';
import type { StoredCircleStore, StoreWrites } from './backend';
import type { ScriptJob, ScriptResult } from './script-job';

/** Compiled programs kept per thread: dispatchers tend to send the same scripts again. */
const PROGRAM_CACHE_SIZE = 256;
/** Longer sources are rare and cheap to parse relative to running them; not worth the memory. */
const CACHEABLE_SOURCE_CHARS = 16 * 1024;

const DELETED = Symbol('deleted');

/** A circle store in memory for one run, recording what the script changed. */
class RecordingStore implements StoreAccess {
  private readonly values = new Map<string, unknown>();
  private readonly changes = new Map<string, unknown>();

  constructor(stored: StoredCircleStore) {
    for (const [key, text] of Object.entries(stored)) this.values.set(key, parseStored(text));
  }

  get(key: string): unknown | undefined {
    return this.values.get(key);
  }

  set(key: string, value: unknown): void {
    this.values.set(key, value);
    this.changes.set(key, value);
  }

  delete(key: string): boolean {
    this.changes.set(key, DELETED);
    return this.values.delete(key);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  writes(): StoreWrites | undefined {
    if (this.changes.size === 0) return undefined;
    const sets: Record<string, string> = {};
    const deletes: string[] = [];
    for (const [key, value] of this.changes) {
      if (value === DELETED) deletes.push(key);
      else sets[key] = JSON.stringify(value);
    }
    return { sets, deletes };
  }
}

/** Values written by anything but a script may not be JSON; such text reads as a string. */
function parseStored(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Stands in for the store when none was loaded, noting that the script reached for it. */
class AbsentStore implements StoreAccess {
  wanted = false;
  get(): undefined {
    this.wanted = true;
    return undefined;
  }
  set(): void {
    this.wanted = true;
  }
  delete(): boolean {
    this.wanted = true;
    return false;
  }
  keys(): string[] {
    this.wanted = true;
    return [];
  }
}

function errorText(error: RhaiError): string {
  // The engine's message already ends with "(line L, position P)" where it has one.
  return error.line !== undefined && !error.message.includes('(line ')
    ? `${error.message} (line ${error.line}, position ${error.position ?? 0})`
    : error.message;
}

/** Runs scripts with the engine, caching compiled programs (one instance per thread). */
export class ScriptRunner {
  private readonly programs = new Map<string, Program>();

  run(job: ScriptJob): ScriptResult {
    const limits = { ...SANDBOX_LIMITS, deadlineMs: job.deadlineMs };
    const program = this.compile(job.script, limits);
    if (!program.ok) return { ok: false, error: errorText(program.error) };

    const store = job.store ? new RecordingStore(job.store) : new AbsentStore();
    const result = run(program.program, { constants: { ...job.constants }, store }, limits);
    if (store instanceof AbsentStore && store.wanted) return { ok: false, needsStore: true };
    if (!result.ok) return { ok: false, error: errorText(result.error) };
    const storeWrites = store instanceof RecordingStore ? store.writes() : undefined;
    return storeWrites
      ? { ok: true, output: result.output, storeWrites }
      : { ok: true, output: result.output };
  }

  private compile(source: string, limits: typeof SANDBOX_LIMITS): ReturnType<typeof parse> {
    const cached = this.programs.get(source);
    if (cached) {
      // Map order doubles as recency order.
      this.programs.delete(source);
      this.programs.set(source, cached);
      return { ok: true, program: cached };
    }
    const parsed = parse(source, limits);
    if (parsed.ok && source.length <= CACHEABLE_SOURCE_CHARS) {
      this.programs.set(source, parsed.program);
      if (this.programs.size > PROGRAM_CACHE_SIZE) {
        this.programs.delete(this.programs.keys().next().value as string);
      }
    }
    return parsed;
  }
}
