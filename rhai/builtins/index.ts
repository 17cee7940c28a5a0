/** The merged built-in function table (one dispatcher per name) and mutator metadata. */
import { isInt, type Value } from '../values';
import { ARRAYS } from './arrays';
import { CORE } from './core';
import { MAPS } from './maps';
import { NUMBERS } from './numbers';
import { type Builtin, NO_MATCH } from './registry';
import { STORE } from './store';
import { STRINGS } from './strings';

function merge(...tables: Record<string, Builtin>[]): Record<string, Builtin> {
  const byName = new Map<string, Builtin[]>();
  for (const t of tables)
    for (const [k, f] of Object.entries(t)) byName.set(k, [...(byName.get(k) ?? []), f]);
  const out: Record<string, Builtin> = Object.create(null);
  for (const [k, fs] of byName) {
    out[k] =
      fs.length === 1
        ? fs[0]
        : (args, cx) => {
            for (const f of fs) {
              try {
                return f(args, cx);
              } catch (e) {
                if (e !== NO_MATCH) throw e;
              }
            }
            throw NO_MATCH;
          };
  }
  return out;
}

/** All built-ins by name (null-prototype: script names can't reach Object.prototype). */
export const BUILTINS: Record<string, Builtin | undefined> = merge(
  ARRAYS,
  MAPS,
  STRINGS,
  NUMBERS,
  CORE,
  STORE,
);

const ARRAY_MUT = new Set([
  'push',
  'append',
  'insert',
  'pop',
  'shift',
  'remove',
  'clear',
  'reverse',
  'truncate',
  'chop',
  'pad',
  'split',
  'drain',
  'retain',
  'splice',
  'dedup',
  'sort',
  'sort_by',
  'sort_desc',
  'set',
  'for_each',
]);
const STRING_MUT = new Set([
  'make_upper',
  'make_lower',
  'trim',
  'trim_start',
  'trim_end',
  'clear',
  'set',
  'crop',
  'truncate',
  'pad',
  'append',
  'remove',
  'replace',
  'pop',
]);
const MAP_MUT = new Set(['set', 'remove', 'clear', 'mixin', 'fill_with', 'drain', 'retain']);
const INT_MUT = new Set(['set_bit', 'set_bits']);

/**
 * Container mutators that account their own size change (sizes.ts `reserve`); every other
 * mutator of an array or map makes the caller bump the size epoch.
 */
const SELF_ACCOUNTED = new Set([
  'push',
  'append',
  'insert',
  'pad',
  'pop',
  'shift',
  'remove',
  'clear',
  'set',
  'splice',
  'mixin',
  'fill_with',
]);

/** Does built-in `name` change a container receiver without accounting for its size? */
export function isUnaccountedMutator(name: string, recv: Value): boolean {
  if (Array.isArray(recv)) return ARRAY_MUT.has(name) && !SELF_ACCOUNTED.has(name);
  if (recv instanceof Map) return MAP_MUT.has(name) && !SELF_ACCOUNTED.has(name);
  return false;
}

/** Does calling built-in `name` with this receiver modify it? (for constant checks) */
export function isMutator(name: string, recv: Value): boolean {
  if (Array.isArray(recv)) return ARRAY_MUT.has(name);
  if (typeof recv === 'string') return STRING_MUT.has(name);
  if (recv instanceof Map) return MAP_MUT.has(name);
  if (isInt(recv)) return INT_MUT.has(name);
  return false;
}
