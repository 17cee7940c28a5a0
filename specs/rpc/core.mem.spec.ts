import {
  DEFAULT_MAX_BATCH,
  handleFrame,
  MAX_FRAME_REPLY_BYTES,
  type FrameLimits,
  type Respond,
  type RpcCall,
  type RpcHandler,
} from '../../rpc/core';
import { jsonDepth, MAX_JSON_DEPTH } from '../../rpc/json-limits';
import { RpcErrorCode, rpcError } from '../../rpc/errors';
import { parseParams } from '../../rpc/params';

/** A fake handler: the methods of the JSON-RPC 2.0 specification's examples, plus one that answers later. */
class FakeExampleMethods implements RpcHandler {
  readonly calls: RpcCall[] = [];
  readonly later: Respond[] = [];
  handle(call: RpcCall, respond: Respond): void {
    this.calls.push(call);
    const p = call.params as any;
    switch (call.method) {
      case 'subtract':
        return respond({ result: Array.isArray(p) ? p[0] - p[1] : p.minuend - p.subtrahend });
      case 'sum':
        return respond({ result: (p as number[]).reduce((a, b) => a + b, 0) });
      case 'update':
      case 'notify_hello':
      case 'notify_sum':
        return respond({ result: null });
      case 'get_data':
        return respond({ result: ['hello', 5] });
      case 'explode':
        throw new Error('secret detail');
      case 'later':
        this.later.push(respond);
        return;
      case 'big':
        return respond({ result: 'x'.repeat(p?.[0] ?? 100_000) });
      default:
        return respond({ error: rpcError(RpcErrorCode.MethodNotFound) });
    }
  }
}

function run(text: string, methods = new FakeExampleMethods(), limits?: FrameLimits): unknown[] {
  const sent: unknown[] = [];
  handleFrame(text, methods, (t) => sent.push(JSON.parse(t)), limits);
  return sent;
}

const err = (code: number, id: unknown = null) => ({
  jsonrpc: '2.0',
  id,
  error: expect.objectContaining({ code }),
});

describe('JSON-RPC 2.0 specification examples', () => {
  it('positional parameters', () => {
    expect(run('{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}')).toEqual([
      { jsonrpc: '2.0', result: 19, id: 1 },
    ]);
    expect(run('{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}')).toEqual([
      { jsonrpc: '2.0', result: -19, id: 2 },
    ]);
  });

  it('named parameters', () => {
    expect(
      run('{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}'),
    ).toEqual([{ jsonrpc: '2.0', result: 19, id: 3 }]);
  });

  it('notifications get no response but still run', () => {
    const m = new FakeExampleMethods();
    expect(run('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', m)).toEqual([]);
    expect(run('{"jsonrpc": "2.0", "method": "foobar"}', m)).toEqual([]);
    expect(m.calls.map((c) => c.method)).toEqual(['update', 'foobar']);
    expect(m.calls[0]!.id).toBeUndefined();
  });

  it('non-existent method', () => {
    expect(run('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')).toEqual([err(-32601, '1')]);
  });

  it('invalid JSON', () => {
    expect(run('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')).toEqual([err(-32700)]);
  });

  it('invalid Request object', () => {
    expect(run('{"jsonrpc": "2.0", "method": 1, "params": "bar"}')).toEqual([err(-32600)]);
  });

  it('batch, invalid JSON', () => {
    expect(
      run('[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]'),
    ).toEqual([err(-32700)]);
  });

  it('empty array', () => {
    expect(run('[]')).toEqual([err(-32600)]);
  });

  it('invalid batch, but not empty', () => {
    expect(run('[1]')).toEqual([[err(-32600)]]);
  });

  it('invalid batch', () => {
    expect(run('[1,2,3]')).toEqual([[err(-32600), err(-32600), err(-32600)]]);
  });

  it('mixed batch', () => {
    const out = run(`[
      {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
      {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
      {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
      {"foo": "boo"},
      {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
      {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]`);
    expect(out).toEqual([
      [
        { jsonrpc: '2.0', result: 7, id: '1' },
        { jsonrpc: '2.0', result: 19, id: '2' },
        err(-32600),
        err(-32601, '5'),
        { jsonrpc: '2.0', result: ['hello', 5], id: '9' },
      ],
    ]);
  });

  it('batch of notifications only: nothing at all', () => {
    expect(
      run(
        '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]',
      ),
    ).toEqual([]);
  });
});

describe('edge cases', () => {
  it.each([
    ['null', [err(-32600)]],
    ['[null]', [[err(-32600)]]],
    ['"text"', [err(-32600)]],
    ['42', [err(-32600)]],
    ['[[]]', [[err(-32600)]]],
    ['{"jsonrpc":"1.0","method":"sum","params":[1],"id":1}', [err(-32600, 1)]],
    ['{"method":"sum","params":[1],"id":1}', [err(-32600, 1)]],
    ['{"jsonrpc":"2.0","method":"sum","params":5,"id":1}', [err(-32600, 1)]],
    ['{"jsonrpc":"2.0","method":"sum","params":null,"id":1}', [err(-32600, 1)]],
    ['{"jsonrpc":"2.0","method":"sum","params":[1],"id":true}', [err(-32600)]],
    ['{"jsonrpc":"2.0","method":"sum","params":[1],"id":{"a":1}}', [err(-32600)]],
    ['{"jsonrpc":"2.0","method":"sum","params":[1],"id":1e999}', [err(-32600)]],
    ['', [err(-32700)]],
  ])('%s', (text, expected) => expect(run(text)).toEqual(expected));

  it('a one-element batch answers with an array', () => {
    expect(run('[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":7}]')).toEqual([
      [{ jsonrpc: '2.0', id: 7, result: 3 }],
    ]);
  });

  it('keeps id types: string, number, null, huge', () => {
    expect(run('{"jsonrpc":"2.0","method":"sum","params":[1],"id":"abc"}')).toEqual([
      { jsonrpc: '2.0', id: 'abc', result: 1 },
    ]);
    expect(run('{"jsonrpc":"2.0","method":"sum","params":[1],"id":null}')).toEqual([
      { jsonrpc: '2.0', id: null, result: 1 },
    ]);
    expect(run('{"jsonrpc":"2.0","method":"sum","params":[1],"id":-0.5}')).toEqual([
      { jsonrpc: '2.0', id: -0.5, result: 1 },
    ]);
    expect(run('{"jsonrpc":"2.0","method":"sum","params":[1],"id":9007199254740993}')).toEqual([
      { jsonrpc: '2.0', id: 9007199254740992, result: 1 },
    ]);
    const longId = 'x'.repeat(100_000);
    expect(run(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":"${longId}"}`)).toEqual([
      { jsonrpc: '2.0', id: longId, result: 1 },
    ]);
  });

  it('a method that throws answers -32603 without details, and the core goes on', () => {
    const out = run(
      '[{"jsonrpc":"2.0","method":"explode","id":1},{"jsonrpc":"2.0","method":"sum","params":[1],"id":2}]',
    );
    expect(out).toEqual([
      [
        { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error' } },
        { jsonrpc: '2.0', id: 2, result: 1 },
      ],
    ]);
    expect(JSON.stringify(out)).not.toContain('secret detail');
  });

  it('ignores unknown fields of a request', () => {
    expect(run('{"jsonrpc":"2.0","method":"sum","params":[2],"id":1,"extra":{"x":1}}')).toEqual([
      { jsonrpc: '2.0', id: 1, result: 2 },
    ]);
  });

  it('a batch answers once every member (including deferred ones) has answered', () => {
    const m = new FakeExampleMethods();
    const sent: unknown[] = [];
    handleFrame(
      '[{"jsonrpc":"2.0","method":"later","id":1},{"jsonrpc":"2.0","method":"sum","params":[1],"id":2},{"jsonrpc":"2.0","method":"later","id":3}]',
      m,
      (t) => sent.push(JSON.parse(t)),
    );
    expect(sent).toEqual([]);
    m.later[1]!({ result: 'c' });
    expect(sent).toEqual([]);
    m.later[0]!({ result: 'a' });
    m.later[0]!({ result: 'again' }); // a second answer for the same call is ignored
    expect(sent).toEqual([
      [
        { jsonrpc: '2.0', id: 1, result: 'a' },
        { jsonrpc: '2.0', id: 2, result: 1 },
        { jsonrpc: '2.0', id: 3, result: 'c' },
      ],
    ]);
  });
});

describe('method params', () => {
  const pk = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
  it('accepts every form SPEC lists', () => {
    expect(parseParams('fetch_nonce', { pubkey: pk })).toEqual({ ok: true, value: { pubkey: pk } });
    expect(parseParams('fetch_nonce', [pk])).toEqual({ ok: true, value: { pubkey: pk } });
    const creds = { pubkey: pk, signature: 'ab' };
    for (const form of [creds, { credentials: creds }, [pk, 'ab'], [creds]]) {
      expect(parseParams('authenticate', form)).toEqual({ ok: true, value: creds });
    }
    expect(parseParams('play', { script: '1' })).toEqual({ ok: true, value: { script: '1' } });
    expect(parseParams('play', ['1'])).toEqual({ ok: true, value: { script: '1' } });
    expect(parseParams('whoami', undefined).ok).toBe(true);
    expect(parseParams('whoami', []).ok).toBe(true);
    expect(parseParams('whoami', {}).ok).toBe(true);
  });

  it.each([
    ['play', {}, 'script'],
    ['play', { script: 5 }, 'script'],
    ['play', [5], '0'],
    ['fetch_nonce', {}, 'pubkey'],
    ['fetch_nonce', [7], '0'],
    ['authenticate', { pubkey: pk }, 'signature'],
    ['authenticate', { credentials: { pubkey: pk } }, 'credentials.signature'],
    ['whoami', { x: 1 }, '(params)'],
  ] as const)('%s %j → -32602 naming %s', (method, params, path) => {
    const r = parseParams(method, params);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(-32602);
    const issues = (r.error.data as { issues: { path: string }[] }).issues;
    expect(issues.map((i) => i.path)).toContain(path);
  });
});

describe('hostile frames (issue 13)', () => {
  const call = (method: string, id: number, params: unknown = [1]) =>
    JSON.stringify({ jsonrpc: '2.0', method, params, id });
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

  it('measures JSON depth without recursion, ignoring brackets inside strings', () => {
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('"[[[[" ')).toBe(0);
    expect(jsonDepth('["\\", "\\"", "[[["]')).toBe(1);
    expect(jsonDepth(deep(1_000_000), 64)).toBe(65); // stops early
    expect(jsonDepth(Buffer.from('{"x":[[["é"]]]}'))).toBe(4);
  });

  it('a frame nested deeper than MAX_JSON_DEPTH is one -32600 naming the limit, nothing evaluated', () => {
    const m = new FakeExampleMethods();
    const params = JSON.parse(deep(MAX_JSON_DEPTH)); // + the request object: one level too many
    const [out] = run(call('sum', 1, params), m) as any[];
    expect(out).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: 'Invalid Request',
        data: { limit: 64, reason: 'JSON nested deeper than 64 levels' },
      },
    });
    expect(m.calls).toEqual([]);
    // exactly at the limit is fine
    expect(run(call('get_data', 2, JSON.parse(deep(MAX_JSON_DEPTH - 1))))).toEqual([
      { jsonrpc: '2.0', id: 2, result: ['hello', 5] },
    ]);
  });

  it('100,000 levels (in params, in a batch, unterminated) never overflow the stack', () => {
    for (const text of [
      `{"jsonrpc":"2.0","method":"sum","id":1,"params":${deep(100_000)}}`,
      `[${deep(100_000)}]`,
      '{'.repeat(500_000),
      `[{"jsonrpc":"2.0","method":"sum","id":1,"params":[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]}]`,
    ]) {
      const out = run(text) as any[];
      expect(out).toHaveLength(1);
      expect(out[0].error).toMatchObject({ code: -32600, data: { limit: MAX_JSON_DEPTH } });
    }
  });

  it(`a batch over maxBatch (default ${DEFAULT_MAX_BATCH}) is one -32600 naming the limit, no member run`, () => {
    const m = new FakeExampleMethods();
    const members = (n: number) => `[${Array.from({ length: n }, (_, i) => call('sum', i)).join(',')}]`;
    const [out] = run(members(DEFAULT_MAX_BATCH + 1), m) as any[];
    expect(out).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: 'Invalid Request',
        data: {
          limit: DEFAULT_MAX_BATCH,
          reason: `batch of ${DEFAULT_MAX_BATCH + 1} requests; at most ${DEFAULT_MAX_BATCH} (--max-batch)`,
        },
      },
    });
    expect(m.calls).toEqual([]);
    expect((run(members(DEFAULT_MAX_BATCH), m)[0] as unknown[]).length).toBe(DEFAULT_MAX_BATCH);
    // the handler's limit (a session's --max-batch), or the caller's
    const small = Object.assign(new FakeExampleMethods(), { maxBatch: 3 });
    expect((run(members(4), small)[0] as any).error.data.limit).toBe(3);
    expect(small.calls).toEqual([]);
    expect((run(members(4), new FakeExampleMethods(), { maxBatch: 2 })[0] as any).error.data.limit).toBe(2);
  });

  it('a batch stops evaluating members once its replies pass the per-frame budget', () => {
    expect(MAX_FRAME_REPLY_BYTES).toBe(1024 * 1024);
    const m = new FakeExampleMethods();
    const text = `[${Array.from({ length: 200 }, (_, i) => call('big', i, [100_000])).join(',')}]`;
    const sent: string[] = [];
    handleFrame(text, m, (t) => sent.push(t), { maxBatch: 1000 });
    expect(sent).toHaveLength(1);
    const replies = JSON.parse(sent[0]!) as any[];
    expect(replies).toHaveLength(200);
    const full = replies.filter((r) => 'result' in r);
    // every reply is ~100 KB: the budget holds 1 MiB, plus the one reply that crossed it
    expect(full.length).toBe(11);
    expect(m.calls.length).toBe(11); // the rest were never evaluated
    expect(sent[0]!.length).toBeLessThan(MAX_FRAME_REPLY_BYTES + 100_100 + 189 * 120);
    expect(replies[11]).toEqual({
      jsonrpc: '2.0',
      id: 11,
      error: { code: -32005, message: 'Too Many Requests', data: { limit: '1048576 reply bytes per frame' } },
    });
  });

  it('a late reply arriving after the budget is spent is cut short but keeps its task_id', () => {
    const m = new FakeExampleMethods();
    const sent: any[] = [];
    handleFrame(
      `[${call('later', 1)},${call('big', 2, [5000])},${call('big', 3, [5000])}]`,
      m,
      (t) => sent.push(JSON.parse(t)),
      { maxReplyBytes: 4000 },
    );
    m.later[0]!({ result: { output: 'y'.repeat(10_000), task_id: 't-1' } });
    expect(sent).toEqual([
      [
        {
          jsonrpc: '2.0',
          id: 1,
          error: expect.objectContaining({ code: -32005, data: expect.objectContaining({ task_id: 't-1' }) }),
        },
        { jsonrpc: '2.0', id: 2, result: 'x'.repeat(5000) },
        { jsonrpc: '2.0', id: 3, error: expect.objectContaining({ code: -32005 }) },
      ],
    ]);
  });
});
