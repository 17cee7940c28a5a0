/** Unit tests for engine behaviour the upstream corpus does not cover (sandbox, limits, host API). */
import {
  evaluate,
  fromJson,
  parse,
  RHAI_DEFAULT_LIMITS,
  run,
  SANDBOX_LIMITS,
  toJson,
} from '../../rhai/index';
import { fakeStore } from '../support/fake-store';

function value(src: string, bindings = {}, limits = {}): unknown {
  const r = evaluate(src, bindings, { ...RHAI_DEFAULT_LIMITS, ...limits });
  if (!r.ok) throw new Error(`${r.error.kind}: ${r.error.message}`);
  return toJson(r.value);
}

function errorKind(src: string, bindings = {}, limits = {}): string {
  const r = evaluate(src, bindings, { ...RHAI_DEFAULT_LIMITS, ...limits });
  if (r.ok) throw new Error(`expected an error, got ${r.output}`);
  return r.error.kind;
}

describe('API shape', () => {
  it('evaluates and displays the final value', () => {
    expect(evaluate('40 + 2')).toEqual({ ok: true, value: 42, output: '42' });
    const unit = evaluate('let x = 1;');
    expect(unit.ok && unit.output).toBe('');
    const f = evaluate('1.0 * 2');
    expect(f.ok && f.output).toBe('2.0');
    const s = evaluate('#{b: 1, a: "x"}');
    expect(s.ok && s.output).toBe('#{"a": "x", "b": 1}');
  });

  it('reports errors as values with position', () => {
    const r = evaluate('let a = 1;\nlet b = zz + 1;');
    expect(r).toEqual({
      ok: false,
      error: {
        kind: 'ErrorVariableNotFound',
        message: 'Variable not found: zz (line 2, position 9)',
        line: 2,
        position: 9,
      },
    });
    const p = parse('let = 5;');
    expect(p.ok).toBe(false);
  });

  it('reuses a parsed program across runs with different constants', () => {
    const p = parse('CALLER_ID + ":" + event.kind');
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    const a = run(p.program, { constants: { CALLER_ID: 'alice', event: { kind: 'join' } } });
    const b = run(p.program, { constants: { CALLER_ID: 'bob', event: { kind: 'leave' } } });
    expect(a.ok && a.value).toBe('alice:join');
    expect(b.ok && b.value).toBe('bob:leave');
  });
});

describe('sandbox', () => {
  it('has no access to JS globals', () => {
    for (const name of [
      'process',
      'globalThis',
      'require',
      'module',
      'Function',
      'eval',
      'console',
      'window',
    ]) {
      expect(errorKind(name)).toMatch(/ErrorVariableNotFound|ErrorParsing/);
    }
    expect(errorKind('process.exit(1)')).toBe('ErrorVariableNotFound');
    expect(errorKind('require("fs")')).toBe('ErrorFunctionNotFound');
  });

  it('does not expose prototype tricks', () => {
    expect(errorKind('"".constructor')).toBe('ErrorDotExpr');
    expect(errorKind('[].constructor("x")')).toBe('ErrorFunctionNotFound');
    expect(errorKind('let f = Fn("constructor"); f.call("return process")')).toBe('ErrorFunctionNotFound');
    expect(errorKind('toString()')).toBe('ErrorFunctionNotFound');
    expect(errorKind('hasOwnProperty("x")')).toBe('ErrorFunctionNotFound');
    expect(value('let m = #{}; m.constructor')).toBeNull();
    expect(errorKind('(1).__proto__')).toMatch(/ErrorDotExpr|ErrorParsing/);
  });

  it('treats "__proto__" and "constructor" as ordinary map keys', () => {
    expect(value('let m = #{}; m["__proto__"] = 1; m["constructor"] = 2; m.keys()')).toEqual([
      '__proto__',
      'constructor',
    ]);
    expect(value('let m = #{"__proto__": #{x: 1}}; m["__proto__"].x')).toBe(1);
    const json = value('let m = #{}; m["__proto__"] = 5; m') as Record<string, unknown>;
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(Object.keys(json)).toEqual(['__proto__']);
    const fromHost = fromJson(JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(fromHost instanceof Map && [...fromHost.keys()]).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('limits', () => {
  it('stops `loop {}` with the operation budget', () => {
    expect(errorKind('loop {}', {}, { maxOperations: 10_000 })).toBe('ErrorTooManyOperations');
    expect(errorKind('let x = 0; loop { x += 1; }', {}, { maxOperations: 10_000 })).toBe(
      'ErrorTooManyOperations',
    );
  });

  it('counts operations like Rhai (SUBSET.md §11 calibration points)', () => {
    const needed = (src: string): number => {
      let lo = 1;
      while (!evaluate(src, {}, { ...RHAI_DEFAULT_LIMITS, maxOperations: lo }).ok) lo++;
      return lo;
    };
    const points: [string, number][] = [
      ['1', 2],
      ['1 + 2', 4],
      ['let x = 1; x', 4],
      ['[1,2,3]', 5],
      ['let x = 0; x += 1;', 5],
      ['let x = 0; while x < 10 { x += 1; }', 66],
      ['for i in 0..10 {}', 14],
      ['fn f() { 1 } f()', 5],
      ['fn f(x) { x } f(1)', 6],
      ['abs(1)', 4],
      ['[1, 2, 3, 4, 5, 6, 7]', 9],
      ['for x in 0..500 {}', 504],
    ];
    for (const [src, ops] of points) expect([src, needed(src)]).toEqual([src, ops]);
  });

  it('checks the deadline as often as asked (deadlineCheckOps), whatever one operation costs', () => {
    const src = 'let s = ""; s.pad(1000000, "y"); loop { s.replace("y", "z"); s.replace("z", "y"); }';
    expect(errorKind(src, {}, { deadlineMs: 1, deadlineCheckOps: 1, maxStringSize: 1 << 20 })).toBe(
      'ErrorTerminated',
    );
  });

  it('pads like Rhai: whole copies, then the characters that fit; over the size limit before building', () => {
    expect(value('let s = "ab"; s.pad(7, "xy"); s')).toBe('abxyxyx');
    expect(value('let s = "abc"; s.pad(2, "x"); s')).toBe('abc');
    expect(value('let s = ""; s.pad(3, "😀é"); s')).toBe('😀é😀');
    expect(errorKind('let s = ""; s.pad(2000000, "y");', {}, { maxStringSize: 1 << 20 })).toBe(
      'ErrorDataTooLarge',
    );
  });

  it('limit errors are not catchable', () => {
    expect(errorKind('try { loop {} } catch { 1 }', {}, { maxOperations: 1000 })).toBe(
      'ErrorTooManyOperations',
    );
    expect(errorKind('fn f(n) { f(n + 1) } try { f(0) } catch { 1 }')).toBe('ErrorStackOverflow');
  });

  it('stops a long loop at the wall-clock deadline', () => {
    const t0 = Date.now();
    const r = evaluate('let x = 0; loop { x += 1; }', {}, { ...RHAI_DEFAULT_LIMITS, deadlineMs: 100 });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.kind).toBe('ErrorTerminated');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('enforces call depth and data sizes', () => {
    expect(errorKind('fn f(n) { if n == 0 { 0 } else { f(n - 1) } } f(10)', {}, { maxCallLevels: 5 })).toBe(
      'ErrorStackOverflow',
    );
    expect(value('fn f(n) { if n == 0 { 0 } else { f(n - 1) } } f(4)', {}, { maxCallLevels: 5 })).toBe(0);
    expect(errorKind('let s = "ab"; loop { s += s; }', {}, { maxStringSize: 1000 })).toBe(
      'ErrorDataTooLarge',
    );
    expect(errorKind('let a = []; loop { a.push(1); }', {}, { maxArraySize: 100 })).toBe('ErrorDataTooLarge');
    expect(
      errorKind('let m = #{}; let i = 0; loop { m["k" + i] = i; i += 1; }', {}, { maxMapSize: 100 }),
    ).toBe('ErrorDataTooLarge');
  });

  it('applies SANDBOX_LIMITS by default', () => {
    expect(SANDBOX_LIMITS.maxOperations).toBeGreaterThan(0);
    const r = evaluate('loop {}');
    expect(!r.ok && r.error.kind).toMatch(/ErrorTooManyOperations|ErrorTerminated/);
  });
});

describe('host bindings', () => {
  it('binds constants, including an event object map', () => {
    const bindings = {
      constants: { CONTEXT_ID: 'c1', event: { kind: 'msg', n: 3, tags: ['a'], ratio: 0.5 } },
    };
    expect(value('event.kind + "@" + CONTEXT_ID', bindings)).toBe('msg@c1');
    expect(value('type_of(event.n) + type_of(event.ratio) + type_of(event)', bindings)).toBe('i64f64map');
    expect(value('event.tags[0]', bindings)).toBe('a');
    expect(errorKind('CONTEXT_ID = "x"', bindings)).toBe('ErrorAssignmentToConstant');
    expect(errorKind('event.kind = "x"', bindings)).toBe('ErrorAssignmentToConstant');
    expect(errorKind('fn f() { CONTEXT_ID } f()', bindings)).toBe('ErrorInFunctionCall');
  });

  it('provides store functions over the host store', () => {
    const store = fakeStore({ count: 1 });
    expect(value('store_set("count", store_get("count") + 1); store_get("count")', { store })).toBe(2);
    expect(store.data.get('count')).toBe(2);
    expect(value('store_get("missing")', { store })).toBeNull();
    expect(value('store_set("m", #{a: [1, 2.5, "x", ()]}); store_keys()', { store })).toEqual(['count', 'm']);
    expect(store.data.get('m')).toEqual({ a: [1, 2.5, 'x', null] });
    expect(value('store_delete("count")', { store })).toBe(true);
    expect(value('store_delete("count")', { store })).toBe(false);
    const bad = evaluate('store_set("f", || 1)', { store });
    expect(!bad.ok && bad.error.message).toMatch(/not JSON-serialisable/);
  });

  it('store functions do not exist without a store', () => {
    expect(errorKind('store_get("x")')).toBe('ErrorFunctionNotFound');
  });

  it('sends print and debug output to the host', () => {
    const lines: string[] = [];
    evaluate('print("a"); print(1.0); debug("a"); print(())', { onPrint: (l: string) => lines.push(l) });
    expect(lines).toEqual(['a', '1.0', '"a"', '']);
  });
});

describe('JSON conversion', () => {
  it('round-trips JSON values', () => {
    const json = {
      s: 'x',
      i: 42,
      f: 1.5,
      b: true,
      n: null,
      a: [1, [2, { z: 3 }]],
      o: { nested: { deep: 'y' } },
    };
    expect(toJson(fromJson(json))).toEqual(json);
  });

  it('maps integers to int and other numbers to float', () => {
    expect(value('type_of(x) + " " + type_of(y)', { constants: { x: 3, y: 3.5 } })).toBe('i64 f64');
  });

  it('rejects values without a JSON form', () => {
    const r = evaluate('|| 1');
    expect(r.ok).toBe(true);
    if (r.ok) expect(() => toJson(r.value)).toThrow();
  });

  it('keeps i64 exact beyond 2^53', () => {
    const r = evaluate('9007199254740993 + 2', {}, RHAI_DEFAULT_LIMITS);
    expect(r.ok && r.output).toBe('9007199254740995');
    expect(errorKind('9223372036854775807 * 2')).toBe('ErrorArithmetic');
  });
});

describe('size limits hold for every built-in that creates or grows a value (issue 13)', () => {
  /** Small limits so each bomb is cheap to set off. */
  const SMALL = { maxArraySize: 1000, maxMapSize: 1000, maxStringSize: 10_000 };
  const ARRAY = 'Size of array/BLOB too large';
  const MAP = 'Size of object map too large';
  const STRING = 'Length of string too large';

  /** The run's error as `kind: message` without the position suffix. */
  function tooLarge(src: string, limits: object = SMALL, bindings = {}): string {
    const r = evaluate(src, bindings, { ...RHAI_DEFAULT_LIMITS, ...limits });
    if (r.ok) return `ok: ${r.output.slice(0, 80)}`;
    return `${r.error.kind}: ${r.error.message.replace(/ \(line \d+, position \d+\)$/, '')}`;
  }
  const bomb = (n: number, c = 'a') => `let s = ""; s.pad(${n}, "${c}");`;

  it.each([
    ['to_chars()', `${bomb(5000)} s.to_chars()`],
    ['chars()', `${bomb(5000)} s.chars()`],
    ['split("")', `${bomb(5000)} s.split("")`],
    ['split(sep)', `${bomb(5000)} s.split("a")`],
    ['split(sep, max)', `${bomb(5000)} s.split("a", 4000)`],
    ['split_rev(sep)', `${bomb(5000, ',')} s.split_rev(",")`],
    ['split_rev(sep, max)', `${bomb(5000, ',')} s.split_rev(",", 4000)`],
    ['split() on whitespace', `let s = ""; s.pad(9000, " a"); s.split()`],
  ])('%s of a long string past the array limit is ErrorDataTooLarge', (_name, src) => {
    expect(tooLarge(src)).toBe(`ErrorDataTooLarge: ${ARRAY}`);
  });

  it('splits that stay within the limit still work', () => {
    expect(value('"a,b,c".split(",", 2)')).toEqual(['a', 'b,c']);
    expect(value('"a,b,c".split_rev(",", 2)')).toEqual(['c', 'a,b']);
    expect(value('"a,b,c".split_rev(",")')).toEqual(['c', 'b', 'a']);
    expect(value(`${bomb(900)} s.to_chars().len()`, {}, SMALL)).toBe(900);
  });

  it('map keys count toward the string limit (literal, index, property, set, mixin)', () => {
    const key = 'let k = ""; k.pad(6000, "k");';
    expect(tooLarge(`${key} let m = #{}; m[k] = 1; m[k + "2"] = 2;`)).toBe(`ErrorDataTooLarge: ${STRING}`);
    expect(tooLarge(`${key} let m = #{}; m.set(k, 1); m.set(k + "2", 2);`)).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
    expect(tooLarge(`${key} let m = #{}; m[k] = 1; let n = #{}; n[k + "2"] = 2; m.mixin(n);`)).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
    expect(tooLarge(`${key} let m = #{}; m[k] = 1; let n = #{}; n[k + "2"] = 2; m += n;`)).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
    expect(tooLarge(`${key} let m = #{}; m[k] = 1; let a = [m, m];`)).toBe(`ErrorDataTooLarge: ${STRING}`);
    const long = 'x'.repeat(6000);
    expect(tooLarge(`#{"${long}": 1, "${long}y": 2}`)).toBe(`ErrorDataTooLarge: ${STRING}`);
    // within the limit: fine
    expect(value(`${key} let m = #{}; m[k] = 1; m.len()`, {}, SMALL)).toBe(1);
  });

  it('strings pushed into an array count toward the string limit', () => {
    expect(tooLarge(`${bomb(1000, 'x')} let a = []; for i in 0..20 { a.push(s); }`)).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
    expect(tooLarge(`${bomb(1000, 'x')} let a = []; for i in 0..20 { a += s; }`)).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
    expect(tooLarge(`${bomb(1000, 'x')} let a = []; for i in 0..20 { a.insert(0, s); }`)).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
  });

  it('growing an element of a variable checks the whole variable', () => {
    expect(tooLarge('let a = [[], []]; for i in 0..600 { a[0].push(i); a[1].push(i); }')).toBe(
      `ErrorDataTooLarge: ${ARRAY}`,
    );
    expect(tooLarge('let m = #{a: [], b: []}; for i in 0..600 { m.a.push(i); m.b += i; }')).toBe(
      `ErrorDataTooLarge: ${ARRAY}`,
    );
    expect(
      tooLarge('let m = #{a: "", b: ""}; for i in 0..600 { m.a += "xxxxxxxxxx"; m.b.append("xxxxxxxxxx"); }'),
    ).toBe(`ErrorDataTooLarge: ${STRING}`);
    expect(tooLarge('let a = [[1], [2]]; a.map(|| { this.pad(800, 0); 0 })')).toBe(
      `ErrorDataTooLarge: ${ARRAY}`,
    );
    expect(tooLarge('let a = [#{}, #{}]; for i in 0..600 { a[0]["k" + i] = i; a[1]["k" + i] = i; }')).toBe(
      `ErrorDataTooLarge: ${MAP}`,
    );
  });

  it('keys() / values() / curry() cannot build past the limits', () => {
    const big = 'let m = #{}; for i in 0..1500 { m["k" + i] = i; }';
    expect(tooLarge(`${big} m.keys()`, { ...SMALL, maxMapSize: 2000 })).toBe(`ErrorDataTooLarge: ${ARRAY}`);
    expect(tooLarge(`${big} m.values()`, { ...SMALL, maxMapSize: 2000 })).toBe(`ErrorDataTooLarge: ${ARRAY}`);
    expect(tooLarge('let f = Fn("x"); for i in 0..2000 { f = f.curry(i); }')).toBe(
      `ErrorDataTooLarge: ${ARRAY}`,
    );
  });

  it('results that can outgrow their input are checked (case mapping, debug form, JSON)', () => {
    // 'ΐ' (2 bytes) upper-cases to three code points (6 bytes)
    expect(tooLarge('let s = ""; s.pad(4000, "ΐ"); s.to_upper()')).toBe(`ErrorDataTooLarge: ${STRING}`);
    expect(tooLarge('let s = ""; s.pad(4000, "ΐ"); s.make_upper(); s')).toBe(`ErrorDataTooLarge: ${STRING}`);
    // a control character's debug form is `\u{1}`
    expect(tooLarge('let s = ""; s.pad(4000, "\\x01"); s.to_debug()')).toBe(`ErrorDataTooLarge: ${STRING}`);
    expect(tooLarge('let s = ""; s.pad(4000, "\\x01"); #{s: s}.to_json()')).toBe(
      `ErrorDataTooLarge: ${STRING}`,
    );
  });

  it('replace() whose result would not even fit in a JS string fails as too large', () => {
    const src = 'let s = ""; s.pad(1000000, "a"); let t = ""; t.pad(1000, "b"); s.replace("a", t); s.len()';
    expect(tooLarge(src, { maxStringSize: 1 << 20 })).toBe(`ErrorDataTooLarge: ${STRING}`);
  });

  it('pad() to exactly the string limit is allowed (Rhai allows exactly N)', () => {
    expect(value('let s = ""; s.pad(10000, "y"); s.len()', {}, SMALL)).toBe(10000);
    expect(tooLarge('let s = ""; s.pad(10001, "y"); s.len()')).toBe(`ErrorDataTooLarge: ${STRING}`);
  });

  it('store_keys() past the array limit fails before copying', () => {
    const store = fakeStore(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, i])));
    expect(tooLarge('store_keys()', SMALL, { store })).toBe(`ErrorDataTooLarge: ${ARRAY}`);
    expect(value('store_keys("k14").len()', { store }, SMALL)).toBe(111);
  });

  it('growing a variable costs what is added, not its whole size (no O(n²) under limits)', () => {
    // each of these took 5–60 s before, past the sandbox's 5 s deadline
    for (const src of [
      'let a = []; a.pad(50000, 0); for i in 0..50000 { a[i] = "xx"; } a.len()',
      'let a = []; for i in 0..50000 { a.push([i]); } a.len()',
      'let m = #{}; for i in 0..50000 { m["k" + i] = "v"; } m.len()',
      'let m = #{list: []}; for i in 0..50000 { m.list.push(i); } m.list.len()',
    ]) {
      const r = evaluate(src, {}, SANDBOX_LIMITS);
      expect([src, r.ok ? r.output : r.error.kind]).toEqual([src, '50000']);
    }
  });

  it('a built-in on a large value looks at the deadline first (1 MB replace() in a loop stops in time)', () => {
    const t0 = Date.now();
    const r = evaluate(
      'let s = ""; s.pad(1000000, "a"); loop { s.replace("a", "b"); s.replace("b", "a"); }',
      {},
      { ...SANDBOX_LIMITS, deadlineMs: 500 },
    );
    expect(!r.ok && r.error.kind).toBe('ErrorTerminated');
    expect(Date.now() - t0).toBeLessThan(3000); // was minutes: the clock was read every 16,384 operations
  });

  it('values stay copies: a closure or callback never hands out a container it can see', () => {
    expect(value('let inner = [1]; let f = || inner; let b = f.call(); b.push(2); inner')).toEqual([1]);
    expect(value('let a = [[1]]; let b = a.map(|x| { x.push(3); x }); a')).toEqual([[1]]);
    expect(value('let a = [[1]]; let b = a.reduce(|acc, x| x); b.push(2); a')).toEqual([[1]]);
    expect(value('let a = [[1], [2]]; a.sort(|x, y| { x.push(9); 0 }); a')).toEqual([[1], [2]]);
  });
});
