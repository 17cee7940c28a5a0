/**
 * Where a command's settings come from, in one place: flags, then `CIRCLES_*` environment
 * variables, then a `--config` JSON file, then the defaults of the command's zod schema
 * (the only place a default is written). Every command declares its flags as a list of
 * `FlagSpec`s and a schema keyed by the same names; this module builds the commander
 * program, the help text (defaults read from the schema, environment variables listed),
 * and resolves and validates the values, naming the flag, variable or config key at fault.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { normalizePubkey } from '../auth/keys';
import { flattenIssues, issueLine, issuePath } from '../rpc/zod-issues';

/** Flags, environment or a config file that cannot work: one line on stderr, exit 2. */
export class FlagError extends Error {}

/**
 * How a value is written: `int` (whole number), `path` (a string; relative paths in a config
 * file resolve against its directory), `circles` (`pk[:init.rhai]`, repeatable), `secrets`
 * (comma-separated list), `choice` (its choices are the schema's enum).
 */
export type FlagKind = 'int' | 'string' | 'path' | 'boolean' | 'choice' | 'circles' | 'secrets';

export interface FlagSpec {
  /** camelCase of the long flag (`--play-timeout` → `playTimeout`): config key and schema key. */
  readonly key: string;
  /** Commander flags, e.g. `--port <port>`. */
  readonly flags: string;
  readonly description: string;
  readonly kind: FlagKind;
  /** Environment variables, first set wins; default `CIRCLES_<LONG FLAG IN UPPER SNAKE>`. */
  readonly env?: readonly string[];
  /** Help text for the default, where the schema's value would mislead (computed defaults). */
  readonly defaultText?: string;
  /** Shown as `"***"` by `--print-config`. */
  readonly secret?: boolean;
  /** Test plumbing: not in the help, the environment or config files. */
  readonly hidden?: boolean;
  /** A boolean that may default to on: `--no-<flag>` turns it off. */
  readonly negatable?: boolean;
}

/** A command: its flags, and the schema their values go through (keys = `FlagSpec.key`). */
export interface CommandDefinition<S extends z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  readonly schema: S;
  /** A required positional argument (checked after `--print-config`, which does without it). */
  readonly argument?: { readonly name: string; readonly description: string };
  /** Keys a config file may hold that this command ignores (the backup reads the launcher's file). */
  readonly ignoredConfigKeys?: readonly string[];
}

/** A `-k pk[:init.rhai]` value after normalisation. */
export interface CircleFlag {
  readonly pk: string;
  readonly initScript?: string;
}

/** Effective values, and where each came from (`cli`, `env:NAME`, `config:FILE`, `default`). */
export interface Settings<T> {
  readonly values: T;
  readonly sources: Readonly<Record<string, string>>;
}

/** `key pk[:init.rhai]`; an init path is resolved against `baseDir` when given. */
export function parseCircleFlag(value: string, baseDir?: string): CircleFlag {
  const sep = value.indexOf(':');
  const keyText = sep >= 0 ? value.slice(0, sep) : value;
  const initScript = sep >= 0 ? value.slice(sep + 1) : undefined;
  const pk = normalizePubkey(keyText);
  if (!pk) throw new InvalidArgumentError(`'${keyText}' is not a secp256k1 public key (66 or 130 hex chars)`);
  if (initScript === undefined) return { pk };
  if (initScript.length === 0) throw new InvalidArgumentError('empty init script path after ":"');
  return { pk, initScript: baseDir ? path.resolve(baseDir, initScript) : initScript };
}

function parseWhole(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`expected a whole number, got '${text}'`);
  return Number(text);
}

function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new InvalidArgumentError(`expected true/false, 1/0, yes/no or on/off, got '${text}'`);
}

/** The long flag without dashes: `--play-timeout <ms>` → `play-timeout`. */
export function longFlagOf(spec: FlagSpec): string {
  const m = /--([a-z0-9-]+)/.exec(spec.flags);
  if (!m) throw new Error(`flag spec ${spec.key} has no long flag`);
  return m[1]!;
}

export function envNamesOf(spec: FlagSpec): readonly string[] {
  if (spec.hidden) return [];
  return spec.env ?? [`CIRCLES_${longFlagOf(spec).toUpperCase().replace(/-/g, '_')}`];
}

/** A value from the environment or a flag (text) in the shape the schema takes. */
function parseText(spec: FlagSpec, text: string): unknown {
  switch (spec.kind) {
    case 'int':
      return parseWhole(text);
    case 'boolean':
      return parseBoolean(text);
    case 'circles':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
        .map((s) => parseCircleFlag(s));
    default:
      return text;
  }
}

function typeError(expected: string): InvalidArgumentError {
  return new InvalidArgumentError(`must be ${expected}`);
}

function circleFromConfig(item: unknown, baseDir: string): CircleFlag {
  if (typeof item === 'string') return parseCircleFlag(item, baseDir);
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw typeError('a list of keys or {"pk": …, "init": …} objects');
  const entry = item as Record<string, unknown>;
  const unknown = Object.keys(entry).find((k) => k !== 'pk' && k !== 'init');
  if (unknown !== undefined) throw new InvalidArgumentError(`unknown key "${unknown}" in a circle`);
  if (typeof entry.pk !== 'string') throw new InvalidArgumentError('a circle needs "pk" (a string)');
  const circle = parseCircleFlag(entry.pk);
  if (entry.init === undefined) return circle;
  if (typeof entry.init !== 'string' || entry.init === '')
    throw new InvalidArgumentError('"init" must be a non-empty string');
  return { pk: circle.pk, initScript: path.resolve(baseDir, entry.init) };
}

/** A config-file value in the shape the schema takes; types are checked here, ranges by zod. */
function parseConfigValue(spec: FlagSpec, value: unknown, baseDir: string): unknown {
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number') throw typeError('a number');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError('true or false');
      return value;
    case 'string':
    case 'choice':
      if (typeof value !== 'string') throw typeError('a string');
      return value;
    case 'path':
      if (typeof value !== 'string' || value === '') throw typeError('a non-empty string');
      return path.resolve(baseDir, value);
    case 'secrets':
      if (typeof value === 'string') return value;
      if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value.join(',');
      throw typeError('a string or a list of strings');
    case 'circles':
      if (!Array.isArray(value)) throw typeError('a list');
      return value.map((item, i) => {
        try {
          return circleFromConfig(item, baseDir);
        } catch (err) {
          throw new InvalidArgumentError(`item ${i + 1}: ${(err as Error).message}`);
        }
      });
  }
}

/** The JSON object of a config file, or a one-line FlagError. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlagError(
      `config file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FlagError(`config file ${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FlagError(`config file ${file}: must hold one JSON object`);
  }
  return json as Record<string, unknown>;
}

/** The first non-empty variable of `names`; an empty variable counts as unset. */
function fromEnv(
  names: readonly string[],
  env: NodeJS.ProcessEnv,
): { name: string; text: string } | undefined {
  for (const name of names) {
    const text = env[name];
    if (text !== undefined && text !== '') return { name, text };
  }
  return undefined;
}

/**
 * Merges flags > environment > config file > schema defaults, then validates through the
 * schema. `cli` holds only the flags given, already parsed. Errors are FlagErrors whose
 * message names the flag, variable or config key at fault.
 */
export function resolveSettings<S extends z.ZodObject>(input: {
  readonly specs: readonly FlagSpec[];
  readonly schema: S;
  readonly cli: Readonly<Record<string, unknown>>;
  readonly env: NodeJS.ProcessEnv;
  readonly configFile?: string;
  readonly ignoredConfigKeys?: readonly string[];
}): Settings<z.output<S>> {
  const { specs, schema, cli, env, configFile } = input;
  const raw: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const spec of specs) {
    if (cli[spec.key] !== undefined) {
      raw[spec.key] = cli[spec.key];
      sources[spec.key] = 'cli';
      continue;
    }
    const found = fromEnv(envNamesOf(spec), env);
    if (!found) continue;
    try {
      raw[spec.key] = parseText(spec, found.text);
    } catch (err) {
      throw new FlagError(`${found.name}: ${(err as Error).message}`);
    }
    sources[spec.key] = `env:${found.name}`;
  }
  if (configFile !== undefined) {
    const json = readConfigFile(configFile);
    const baseDir = path.dirname(path.resolve(configFile));
    const byKey = new Map(specs.filter((s) => !s.hidden).map((s) => [s.key, s]));
    for (const [key, value] of Object.entries(json)) {
      const spec = byKey.get(key);
      if (!spec) {
        if (input.ignoredConfigKeys?.includes(key)) continue;
        throw new FlagError(`config file ${configFile}: unknown key "${key}"`);
      }
      if (value === null || key in raw) continue; // null = not set; flags and environment win
      try {
        raw[key] = parseConfigValue(spec, value, baseDir);
      } catch (err) {
        throw new FlagError(`config file ${configFile}: "${key}": ${(err as Error).message}`);
      }
      sources[key] = `config:${configFile}`;
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new FlagError(describeIssue(parsed.error, specs, sources, configFile));
  for (const spec of specs) sources[spec.key] ??= 'default';
  return { values: parsed.data, sources };
}

/**
 * One line for the first issue, naming where the value came from (the flag, variable or
 * config key) in place of the option's name; a path inside the value follows it.
 */
function describeIssue(
  error: z.ZodError,
  specs: readonly FlagSpec[],
  sources: Record<string, string>,
  configFile: string | undefined,
): string {
  const issue = flattenIssues(error)[0];
  if (!issue) return 'invalid options';
  const [key, ...inner] = issue.path;
  const spec = specs.find((s) => s.key === key);
  const source = typeof key === 'string' ? sources[key] : undefined;
  if (!spec || source === undefined)
    return issueLine({ path: issuePath(issue.path), message: issue.message });
  const message = issueLine({ path: issuePath(inner), message: issue.message });
  if (source.startsWith('env:')) return `${source.slice(4)}: ${message}`;
  if (source.startsWith('config:')) return `config file ${configFile}: "${spec.key}": ${message}`;
  return `--${longFlagOf(spec)}: ${message}`;
}

/** The password of a URL (`redis://:pw@host`, `redis://user:pw@host`) replaced by `***`. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1***@');
}

/** `--print-config`: effective values by option name (secrets redacted) and their sources. */
export function configReport(
  specs: readonly FlagSpec[],
  settings: Settings<Record<string, unknown>>,
): string {
  const out: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const spec of specs) {
    if (spec.hidden) continue;
    const value = settings.values[spec.key];
    sources[spec.key] = settings.sources[spec.key] ?? 'default';
    if (value === undefined) out[spec.key] = null;
    else if (spec.secret) out[spec.key] = value === '' ? '' : '***';
    else if (spec.kind === 'circles')
      out[spec.key] = (value as CircleFlag[]).map((c) =>
        c.initScript ? { pk: c.pk, init: c.initScript } : c.pk,
      );
    else if (typeof value === 'string') out[spec.key] = redactUrl(value);
    else out[spec.key] = value;
  }
  return `${JSON.stringify({ ...out, sources }, null, 2)}\n`;
}

/** The package's version, from the nearest package.json above this file (dist/ or a build tree). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'circles' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

/** The schema's enum values of `key`, unwrapping defaults and optionals. */
function choicesOf(field: z.ZodType | undefined): readonly string[] | undefined {
  let f: unknown = field;
  while (f instanceof z.ZodDefault || f instanceof z.ZodOptional) f = f.unwrap();
  return f instanceof z.ZodEnum ? (f.options as string[]) : undefined;
}

/** The schema's default of a field, as help text; none for off booleans and empty lists. */
function defaultTextOf(spec: FlagSpec, field: z.ZodType | undefined): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (!field) return undefined;
  const parsed = field.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined || parsed.data === false) return undefined;
  if (Array.isArray(parsed.data) && parsed.data.length === 0) return undefined;
  return JSON.stringify(parsed.data);
}

/** The commander program of a definition: flags without defaults, help listing defaults and variables. */
export function buildProgram<S extends z.ZodObject>(def: CommandDefinition<S>): Command {
  const program = new Command(def.name).description(def.description);
  const extras = new Map<Option, string[]>();
  const shape = def.schema.shape as Record<string, z.ZodType>;
  for (const spec of def.flags) {
    const option = new Option(spec.flags, spec.description);
    if (spec.kind !== 'circles' && option.attributeName() !== spec.key) {
      throw new Error(`flag ${spec.flags} must have the key ${option.attributeName()}`);
    }
    const field = shape[spec.key];
    const choices = spec.kind === 'choice' ? choicesOf(field) : undefined;
    if (choices) option.choices(choices);
    else if (spec.kind === 'circles')
      option.argParser((v: string, prev: CircleFlag[] = []) => [...prev, parseCircleFlag(v)]);
    else if (spec.kind !== 'boolean') option.argParser((v: string) => parseText(spec, v));
    if (spec.hidden) option.hideHelp();
    const info: string[] = [];
    if (choices) info.push(`choices: ${choices.join(', ')}`);
    const shown = defaultTextOf(spec, field);
    if (shown !== undefined) info.push(`default: ${shown}`);
    const envs = envNamesOf(spec);
    if (envs.length)
      info.push(`env: ${envs.join(' or ')}${spec.kind === 'circles' ? ', comma-separated' : ''}`);
    extras.set(option, info);
    program.addOption(option);
    // Both forms declared: commander then leaves the value unset unless one is given.
    if (spec.negatable)
      program.addOption(new Option(`--no-${longFlagOf(spec)}`, `turn --${longFlagOf(spec)} off`));
    if (spec.kind === 'circles') {
      program.addOption(
        new Option(`-c ${/<[^>]+>/.exec(spec.flags)?.[0] ?? '<pk>'}`, 'alias of --circle')
          .argParser((v: string, prev: CircleFlag[] = []) => [...prev, parseCircleFlag(v)])
          .hideHelp(),
      );
    }
  }
  const config = new Option(
    '--config <file>',
    'read options from a JSON file (keys: the long flags in camelCase)',
  );
  extras.set(config, ['env: CIRCLES_CONFIG']);
  program
    .addOption(config)
    .option('--print-config', 'print the effective configuration as JSON (secrets redacted) and exit')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .configureHelp({
      optionDescription: (option) => {
        const info = extras.get(option) ?? [];
        return info.length ? `${option.description} (${info.join('; ')})` : option.description;
      },
    });
  if (def.argument) {
    program
      .argument(`[${def.argument.name}]`, def.argument.description)
      .usage(`[options] <${def.argument.name}>`);
  }
  return program;
}

/** The flags given on the command line, by spec key (`-k` and `-c` together). */
export function cliValues(program: Command, specs: readonly FlagSpec[]): Record<string, unknown> {
  const opts = program.opts<Record<string, unknown>>();
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    if (spec.kind === 'circles') {
      const all = [
        ...((opts.circle as CircleFlag[] | undefined) ?? []),
        ...((opts.c as CircleFlag[] | undefined) ?? []),
      ];
      if (all.length) out[spec.key] = all;
    } else if (opts[spec.key] !== undefined) {
      out[spec.key] = opts[spec.key];
    }
  }
  return out;
}
