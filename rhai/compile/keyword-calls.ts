/** Keyword functions (Rhai: `KEYWORD_*` in `func/call.rs`), compiled in place of a lookup. */
import type { ExprOf } from '../ast';
import { fail } from '../errors';
import { debug, display } from '../format';
import { fnNotFound } from '../operators';
import type { Frame, Op } from '../runtime';
import { FnPtr, isInt, type Value } from '../values';
import type { FnCompiler } from './context';
import { curried } from './invoke';

/**
 * The keyword functions Rhai handles before any lookup: `Fn`, `call`, `curry`, `print`,
 * `debug`, `is_def_fn`, `is_def_var`. Undefined when `e` is none of them (or has the wrong
 * number of arguments): the caller then compiles an ordinary call.
 */
export function keywordCall(
  fc: FnCompiler,
  e: ExprOf<'call'>,
  args: Op[],
  evalArgs: (f: Frame) => Value[],
): Op | undefined {
  const { name, pos } = e;
  const fns = fc.fns;
  switch (name) {
    case 'Fn':
      if (args.length !== 1) return undefined;
      return (f) => {
        const v = args[0](f);
        if (typeof v !== 'string') throw fnNotFound('Fn', [v]).at(pos);
        if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(v) && !v.startsWith('anon$')) {
          throw fail('ErrorFunctionNotFound', `Function not found: ${v}`, pos);
        }
        return new FnPtr(v);
      };
    case 'call':
      if (args.length < 1) return undefined;
      return (f) => {
        const all = evalArgs(f);
        const fp = all[0];
        if (!(fp instanceof FnPtr)) throw fnNotFound('call', all).at(pos);
        return fns.callPtr(f, fp, all.slice(1), undefined, pos);
      };
    case 'curry':
      if (args.length < 1) return undefined;
      return (f) => {
        const all = evalArgs(f);
        const fp = all[0];
        if (!(fp instanceof FnPtr)) throw fnNotFound('curry', all).at(pos);
        return curried(f.rt, fp, all.slice(1), pos);
      };
    case 'print':
    case 'debug':
      if (args.length !== 1) return undefined;
      return (f) => {
        const v = args[0](f);
        const host = f.rt.host;
        if (name === 'print') host.onPrint?.(display(v));
        else (host.onDebug ?? host.onPrint)?.(debug(v));
        return undefined;
      };
    case 'is_def_fn':
      if (args.length !== 2) return undefined;
      return (f) => {
        const [n, a] = evalArgs(f);
        return typeof n === 'string' && isInt(a) && fns.has(n, a);
      };
    case 'is_def_var': {
      if (args.length !== 1) return undefined;
      const names = new Set(fc.res.visibleNames.get(e) ?? []);
      const main = fc.scope.kind === 'main';
      return (f) => {
        const n = args[0](f);
        return typeof n === 'string' && (names.has(n) || (main && f.rt.globals.has(n)));
      };
    }
  }
  return undefined;
}
