import fs from 'node:fs';
import path from 'node:path';
import { EXECUTION_ERROR_DATA_CONTRACT, RPC_CONTRACT, TASK_STATES } from '../../client/rpc-types';
import { REPO_ROOT } from '../support/repo-root';

/**
 * The client's types (client/rpc-types.ts) against the OpenRPC document: the types are tied to
 * RPC_CONTRACT at compile time, and this spec ties RPC_CONTRACT to openrpc.json, so a method,
 * a param or a result property added to one and not the other fails here or in tsc.
 */
interface Schema {
  $ref?: string;
  type?: string | string[];
  required?: string[];
  properties?: Record<string, Schema>;
  enum?: string[];
}
interface Descriptor {
  $ref?: string;
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Doc {
  methods: { name: string; params?: Descriptor[]; result: Descriptor }[];
  components: { schemas?: Record<string, Schema> };
}

const doc = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'openrpc.json'), 'utf8')) as Doc;

function deref<T extends { $ref?: string }>(node: T): T {
  if (!node.$ref) return node;
  const target = node.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], doc);
  if (!target) throw new Error(`openrpc.json: dangling ${node.$ref}`);
  return deref(target as T);
}

/** Required and optional property names of an object schema. */
function shape(schema: Schema): { required: string[]; optional: string[] } {
  const s = deref(schema);
  const names = Object.keys(s.properties ?? {});
  const required = s.required ?? [];
  return { required: [...required].sort(), optional: names.filter((n) => !required.includes(n)).sort() };
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('client/rpc-types.ts agrees with openrpc.json', () => {
  it('has the same methods', () => {
    expect(sorted(Object.keys(RPC_CONTRACT))).toEqual(sorted(doc.methods.map((m) => m.name)));
  });

  describe.each(doc.methods.map((m) => [m.name, m] as const))('%s', (name, method) => {
    const contract = RPC_CONTRACT[name as keyof typeof RPC_CONTRACT];

    it('takes the same params', () => {
      expect(sorted(contract.params)).toEqual(sorted((method.params ?? []).map((p) => deref(p).name)));
    });

    it('returns the same result properties, required as the document says', () => {
      expect({ required: sorted(contract.required), optional: sorted(contract.optional) }).toEqual(
        shape(deref(method.result).schema),
      );
    });
  });

  it('knows the task states task_status answers', () => {
    const taskStatus = doc.methods.find((m) => m.name === 'task_status')!;
    expect(sorted(TASK_STATES)).toEqual(
      sorted(deref(taskStatus.result.schema.properties!.status!).enum ?? []),
    );
  });

  it("has the -32000 error's data", () => {
    const schema = doc.components.schemas?.ExecutionErrorData;
    expect(schema).toBeDefined();
    expect({
      required: sorted(EXECUTION_ERROR_DATA_CONTRACT.required),
      optional: sorted(EXECUTION_ERROR_DATA_CONTRACT.optional),
    }).toEqual(shape(schema!));
  });
});
