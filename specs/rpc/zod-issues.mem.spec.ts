import { z } from 'zod';
import { SERVER_COMMAND_FLAGS, serverSchema } from '../../cmd/flags';
import { FlagError, resolveSettings } from '../../cmd/options';
import { parseParams } from '../../rpc/params';
import { describeIssues, firstIssueLine, flattenIssues, issueLine, issuePath } from '../../rpc/zod-issues';
import { parseStripeEvent } from '../../webhooks/payloads';
import { parseWorkerOptions } from '../../worker/options';

const failure = (schema: z.ZodType, value: unknown): z.ZodError => {
  const r = schema.safeParse(value);
  if (r.success) throw new Error('expected the value to fail');
  return r.error;
};

describe('issuePath: one spelling, the one -32602 has on the wire', () => {
  it.each([
    ['an object key', ['script'], 'script'],
    ['nested keys', ['data', 'object'], 'data.object'],
    ['a by-position param', [0], '0'],
    ['an index inside an object', ['items', 2, 'id'], 'items.2.id'],
    ['a symbol key', [Symbol('s')], 'Symbol(s)'],
  ] as const)('%s → %s', (_, path, text) => {
    expect(issuePath(path)).toBe(text);
  });

  it('names the value itself with the caller’s root label, or nothing', () => {
    expect(issuePath([], '(params)')).toBe('(params)');
    expect(issuePath([])).toBe('');
    expect(issueLine({ path: '', message: 'bad' })).toBe('bad');
    expect(issueLine({ path: 'a.0', message: 'bad' })).toBe('a.0: bad');
  });
});

describe('zod issues as text', () => {
  const schema = z.object({
    name: z.string(),
    items: z.array(z.object({ id: z.number() })),
    pair: z.tuple([z.string(), z.number()]),
  });

  it('lists every issue with its path: keys, array indexes and tuple positions', () => {
    const error = failure(schema, { name: 1, items: [{ id: 1 }, { id: 'x' }], pair: ['a', 'b'] });
    expect(describeIssues(error).map((i) => i.path)).toEqual(['name', 'items.1.id', 'pair.1']);
    expect(firstIssueLine(error)).toMatch(/^name: /);
  });

  it('reports a wrong value at the root under the root label, or as the message alone', () => {
    const error = failure(schema, []);
    expect(describeIssues(error, '(root)')[0]!.path).toBe('(root)');
    expect(firstIssueLine(error)).toBe(error.issues[0]!.message);
  });

  it('resolves a union to the branch meant: fewest issues, then the deepest path', () => {
    const creds = z.object({ pubkey: z.string(), signature: z.string() });
    const union = z.union([creds, z.object({ credentials: creds }), z.tuple([z.string(), z.string()])]);
    const error = failure(union, { credentials: { pubkey: 'k' } });
    expect(flattenIssues(error).map((i) => i.path)).toEqual([['credentials', 'signature']]);
    expect(describeIssues(error)).toEqual([{ path: 'credentials.signature', message: expect.any(String) }]);
  });
});

describe('every user of the formatter spells paths its way', () => {
  it('JSON-RPC -32602 data.issues', () => {
    const cases: [unknown, string][] = [
      [{ credentials: { pubkey: 'k' } }, 'credentials.signature'],
      [[7, 'sig'], '0'],
    ];
    for (const [params, path] of cases) {
      const r = parseParams('authenticate', params);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect((r.error.data as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
    }
    const root = parseParams('whoami', { x: 1 });
    expect(root.ok || (root.error.data as { issues: { path: string }[] }).issues[0]!.path).toBe('(params)');
  });

  it('webhook payloads', () => {
    const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 't', created: 1, data: { object: 5 } });
    expect(parseStripeEvent(body)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^invalid payload at data\.object: /),
    });
    expect(parseStripeEvent('[]')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^invalid payload at \(root\): /),
    });
  });

  it('library worker options: every issue, `;`-separated, array items by index', () => {
    const r = parseWorkerOptions({ circles: ['nope'], redisUrl: 'http://x' });
    expect(r).toEqual({
      ok: false,
      error:
        'circles.0: not a valid secp256k1 public key: nope; redisUrl: must be a redis:// or rediss:// URL',
    });
  });

  it('command-line options: the flag, variable or config key in place of the option name', () => {
    const resolve = (cli: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string => {
      try {
        resolveSettings({ specs: SERVER_COMMAND_FLAGS, schema: serverSchema, cli, env });
      } catch (err) {
        if (err instanceof FlagError) return err.message;
        throw err;
      }
      throw new Error('expected a FlagError');
    };
    expect(resolve({ port: 70_000 })).toMatch(/^--port: /);
    expect(resolve({}, { CIRCLES_PORT: '70000' })).toMatch(/^CIRCLES_PORT: /);
    expect(resolve({ tls: true })).toBe('--tls: needs both --cert <pem> and --key <pem>');
  });
});
