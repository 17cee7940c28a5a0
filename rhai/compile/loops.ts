/**
 * Loops (Rhai: `eval/stmt.rs` while / do / for): `while`, `loop`, `do`, `for`. `break` and
 * `continue` are thrown signals (errors.ts); a loop whose body cannot raise them runs without
 * a try/catch (loop-signals.ts tells).
 */
import type { Expr, ExprOf } from '../ast';
import { BreakSignal, CONTINUE, fail } from '../errors';
import { mismatchBool } from '../operators';
import type { Frame, Op } from '../runtime';
import { Cell, cloneIfObject, RChar, RFloat, RRange, RStepRange, toChars, type Value } from '../values';
import { charge, charged } from './charge';
import type { Compiled, FnCompiler } from './context';
import { hasLoopSignal } from './loop-signals';

/**
 * A loop body; whether it is empty (each iteration then costs one operation of its own) and
 * whether it can break or continue this loop.
 */
function loopBody(fc: FnCompiler, body: Expr): { op: Op; empty: boolean; signals: boolean } {
  const empty = body.kind === 'block' && body.body.every((s) => s.kind === 'noop');
  return { op: fc.body(body), empty, signals: hasLoopSignal(body) };
}

/** `while c { }` and `loop { }` (no condition); without break/continue in the body, no try/catch. */
export function whileExpr(fc: FnCompiler, e: ExprOf<'while'>): Compiled {
  const cond = e.cond ? charged(...fc.expr(e.cond)) : undefined;
  const { op: body, empty, signals } = loopBody(fc, e.body);
  const cp = e.cond?.pos ?? e.pos;
  if (!signals) {
    return [
      (f) => {
        for (;;) {
          if (cond) {
            const c = cond(f);
            if (c === false) return undefined;
            if (c !== true) throw mismatchBool(c, cp);
          }
          if (empty) charge(f, 1);
          body(f);
        }
      },
      1,
    ];
  }
  return [
    (f) => {
      for (;;) {
        if (cond) {
          const c = cond(f);
          if (c === false) return undefined;
          if (c !== true) throw mismatchBool(c, cp);
        }
        try {
          body(f);
        } catch (x) {
          if (x instanceof BreakSignal) return x.value;
          if (x !== CONTINUE) throw x;
        }
      }
    },
    1,
  ];
}

/** `do { } while c` / `do { } until c`. */
export function doExpr(fc: FnCompiler, e: ExprOf<'do'>): Compiled {
  const cond = charged(...fc.expr(e.cond));
  const { op: body, empty } = loopBody(fc, e.body);
  const cp = e.cond.pos;
  const until = e.until;
  return [
    (f) => {
      for (;;) {
        if (empty) charge(f, 1);
        try {
          body(f);
        } catch (x) {
          if (x instanceof BreakSignal) return x.value;
          if (x !== CONTINUE) throw x;
        }
        const c = cond(f);
        if (typeof c !== 'boolean') throw mismatchBool(c, cp);
        if (c === until) return undefined;
      }
    },
    1,
  ];
}

/**
 * `for x in iterable` / `for (x, i) in iterable`: ranges, arrays (iterated over a snapshot,
 * each element copied), strings (by character) and stepped ranges. Each iteration is one
 * operation; a plain range into an uncaptured variable gets its own tight loop.
 */
export function forExpr(fc: FnCompiler, e: ExprOf<'for'>): Compiled {
  const [iter, ic] = fc.expr(e.iter);
  const d = fc.res.declOf.get(e)!;
  const cd = fc.res.counterOf.get(e);
  const { op: body, signals } = loopBody(fc, e.body);
  const slot = d.index;
  const pos = e.iter.pos;
  // Runs one iteration; returns true to stop the loop (break).
  const step = signals
    ? (f: Frame): BreakSignal | undefined => {
        try {
          body(f);
        } catch (x) {
          if (x instanceof BreakSignal) return x;
          if (x !== CONTINUE) throw x;
        }
        return undefined;
      }
    : (f: Frame): BreakSignal | undefined => {
        body(f);
        return undefined;
      };
  const cell = d.captured;
  const ccell = cd?.captured ?? false;
  return [
    (f) => {
      const src = iter(f);
      let setVar: (v: Value) => void;
      if (cell) {
        const c = new Cell(undefined);
        f.s[slot] = c as unknown as Value;
        setVar = (v) => (c.v = v);
      } else setVar = (v) => (f.s[slot] = v);
      let setCounter: ((n: number) => void) | undefined;
      if (cd) {
        if (ccell) {
          const c = new Cell(0);
          f.s[cd.index] = c as unknown as Value;
          setCounter = (n) => (c.v = n);
        } else setCounter = (n) => (f.s[cd.index] = n);
      }
      const rt = f.rt;
      if (src instanceof RRange && !cell && !cd) {
        const end = src.inclusive ? src.end + 1 : src.end;
        for (let i = src.start; i < end; i++) {
          if ((rt.ops += 1) > rt.limit) rt.overLimit();
          f.s[slot] = i;
          const b = step(f);
          if (b) return b.value;
        }
        return undefined;
      }
      let n = 0;
      const each = (v: Value): BreakSignal | undefined => {
        if ((rt.ops += 1) > rt.limit) rt.overLimit();
        setVar(v);
        if (setCounter) setCounter(n);
        n++;
        return step(f);
      };
      if (src instanceof RRange) {
        const end = src.inclusive ? src.end + 1 : src.end;
        for (let i = src.start; i < end; i++) {
          const b = each(i);
          if (b) return b.value;
        }
      } else if (Array.isArray(src)) {
        const snap = src.slice();
        for (const v of snap) {
          const b = each(cloneIfObject(v));
          if (b) return b.value;
        }
      } else if (typeof src === 'string') {
        for (const ch of toChars(src)) {
          const b = each(new RChar(ch));
          if (b) return b.value;
        }
      } else if (src instanceof RStepRange) {
        const { from, to, step: st, isFloat } = src;
        for (let x = from; st > 0 ? x < to : x > to; x += st) {
          const b = each(isFloat ? new RFloat(x) : x);
          if (b) return b.value;
        }
      } else throw fail('ErrorFor', 'For loop expects iterable type', pos);
      return undefined;
    },
    1 + ic,
  ];
}
