import { InlineRunner } from '../../worker/inline-runner';
import type { ScriptJob } from '../../worker/script-job';

const job = (script: string): ScriptJob => ({
  script,
  circlePk: 'c',
  constants: { CONTEXT_ID: 'c', CALLER_ID: 'me' },
  deadlineMs: 30_000,
});

/**
 * A short script's result. Its 1 ms deadline can cut a first run short on a loaded machine
 * (cold code, a GC pause): that run is sent to a thread, which is right, but says nothing
 * about the result, so a fresh runner tries again (a few times at most).
 */
function settled(script: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = new InlineRunner().tryRun(job(script));
    if (r) return r;
  }
  return undefined;
}

describe('InlineRunner (short scripts on the worker thread)', () => {
  it('runs a short script and reports its result or its error', () => {
    expect(settled('40 + 2')).toEqual({ ok: true, output: '42' });
    expect(settled('CALLER_ID')).toEqual({ ok: true, output: 'me' });
    const failed = settled('let x = 1;\nx + undefined_thing');
    expect(failed).toMatchObject({ ok: false, error: expect.stringMatching(/undefined_thing.*line 2/) });
  });

  it('gives up (undefined) on a script over its budget, and sends it to a thread from then on', () => {
    const inline = new InlineRunner();
    const started = Date.now();
    expect(inline.tryRun(job('let x = 0; loop { x += 1; }'))).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(500);
    expect(inline.tryRun(job('let x = 0; loop { x += 1; }'))).toBeUndefined();
  });

  it('bounds the time of few but expensive operations (the clock is read at every one)', () => {
    const started = Date.now();
    const slow =
      'let s = ""; s.pad(500000, "y"); for i in 0..60 { s.replace("y", "z"); s.replace("z", "y"); } 1';
    expect(new InlineRunner().tryRun(job(slow))).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(250);
  });

  it('gives up on a script that reaches the store, even one that catches the refusal', () => {
    const inline = new InlineRunner();
    expect(inline.tryRun(job('let f = Fn("sto" + "re_get"); f.call("k")'))).toBeUndefined();
    expect(inline.tryRun(job('try { call(Fn("sto" + "re_set"), "k", 1) } catch { } "ok"'))).toBeUndefined();
  });

  it('leaves long sources to the threads', () => {
    expect(new InlineRunner().tryRun(job(`${' '.repeat(5000)}1`))).toBeUndefined();
  });
});
