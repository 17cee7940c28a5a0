import fs from 'node:fs';
import path from 'node:path';
import { validateOpenRPCDocument } from '@open-rpc/schema-utils-js';
import { RPC_ERROR_MESSAGES, RpcErrorCode } from '../../rpc/errors';
import { METHOD_NAMES, parseParams } from '../../rpc/params';
import { REPO_ROOT } from '../support/repo-root';

const doc = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'openrpc.json'), 'utf8'));

describe('openrpc.json', () => {
  it('is a valid OpenRPC document', () => {
    expect(validateOpenRPCDocument(doc)).toBe(true);
    expect(validateOpenRPCDocument({ ...doc, methods: [{ name: 5 }] })).not.toBe(true);
  });

  it('has no dangling $ref', () => {
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref') refs.push(x as string);
          else walk(x);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<any>((node, part) => node?.[part], doc);
      expect([ref, target !== undefined]).toEqual([ref, true]);
    }
  });

  it('lists exactly the methods the server implements', () => {
    expect(doc.methods.map((m: { name: string }) => m.name).sort()).toEqual([...METHOD_NAMES].sort());
  });

  it('lists every error code with the message the server sends', () => {
    const documented = Object.values(
      doc.components.errors as Record<string, { code: number; message: string }>,
    );
    const inCode = Object.values(RpcErrorCode).filter((v): v is RpcErrorCode => typeof v === 'number');
    expect(documented.map((e) => e.code).sort()).toEqual([...inCode].sort());
    for (const e of documented) expect(RPC_ERROR_MESSAGES[e.code as RpcErrorCode]).toBe(e.message);
  });

  it("names each method's params as the server reads them by name and by position", () => {
    const sample: Record<string, string> = {
      pubkey: '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa',
      signature: 'ab'.repeat(65),
      script: '40 + 2',
      address: '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A',
      resume_token: 'v1.payload.mac',
      task_id: '9b2c6a52-3f4e-4c1a-9d7e-2b8f0a1c3d4e',
    };
    const resolveParam = (p: { $ref?: string; name?: string }) =>
      p.$ref ? doc.components.contentDescriptors[p.$ref.split('/').pop()!] : p;
    for (const m of doc.methods as {
      name: (typeof METHOD_NAMES)[number];
      params: { $ref?: string; name?: string }[];
      'x-param-forms'?: { byName: string[][]; byPosition: string[][] };
    }[]) {
      const names: string[] = m.params.map((p) => resolveParam(p).name);
      // A method with alternative param sets lists each; otherwise its params are the one form.
      const forms = m['x-param-forms'] ?? { byName: [names], byPosition: [names] };
      expect([m.name, [...new Set([...forms.byName, ...forms.byPosition].flat())].sort()]).toEqual([
        m.name,
        [...names].sort(),
      ]);
      for (const form of forms.byName) {
        const byName = Object.fromEntries(form.map((n) => [n, sample[n]]));
        expect([m.name, form, parseParams(m.name, form.length ? byName : undefined).ok]).toEqual([
          m.name,
          form,
          true,
        ]);
      }
      for (const form of forms.byPosition) {
        expect([
          m.name,
          form,
          parseParams(
            m.name,
            form.map((n) => sample[n]),
          ).ok,
        ]).toEqual([m.name, form, true]);
      }
    }
  });

  it('gives every server-defined error to a method that can raise it', () => {
    const used = new Set<number>();
    const errs = doc.components.errors as Record<string, { code: number }>;
    for (const m of doc.methods as { errors?: { $ref: string }[] }[]) {
      for (const e of m.errors ?? []) used.add(errs[e.$ref.split('/').pop()!]!.code);
    }
    for (const code of [-32000, -32001, -32002, -32003, -32004, -32005, -32006, -32602])
      expect(used).toContain(code);
  });
});
