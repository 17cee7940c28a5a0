import { handleFrame, type Respond, type RpcCall, type RpcHandler } from '../rpc/core';
import { RpcErrorCode, rpcError } from '../rpc/errors';
import { parseParams } from '../rpc/params';

/** The methods of the JSON-RPC 2.0 specification's examples, plus one that answers later. */
class ExampleMethods implements RpcHandler {
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
      default:
        return respond({ error: rpcError(RpcErrorCode.MethodNotFound) });
    }
  }
}

function run(text: string, methods = new ExampleMethods()): unknown[] {
  const sent: unknown[] = [];
  handleFrame(text, methods, (t) => sent.push(JSON.parse(t)));
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
    const m = new ExampleMethods();
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
    const m = new ExampleMethods();
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
