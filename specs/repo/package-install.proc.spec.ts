import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/repo-root';

/**
 * The package as users install it: `npm pack` of the built tree, installed with
 * `--omit=dev` into an empty folder, then required from Node and type-checked by a consumer
 * with `skipLibCheck: false`. Needs `npm run build` first (`npm test` runs it).
 */
const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  license: string;
  private?: boolean;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  exports: Record<string, unknown>;
};
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-pack-'));
const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** npm's failures that mean "no network and not in the cache", where the spec skips. */
const OFFLINE = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network/i;

interface PackedFile {
  path: string;
}

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

it('packs, installs without dev dependencies, loads and type-checks from a consumer', async () => {
  for (const built of [
    'dist/index.js',
    'dist/client/index.js',
    'dist/client/index.d.ts',
    'dist/cmd/circles.js',
  ]) {
    if (!fs.existsSync(path.join(REPO_ROOT, built)))
      throw new Error(`${built} is missing: run \`npm run build\` first`);
  }

  // --- what the tarball holds
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: PackedFile[] }];
  const names = files.map((f) => f.path);
  expect(pkg.private).toBeUndefined();
  expect(names.filter((n) => /^(dist\/)?(bench|specs)\//.test(n))).toEqual([]);
  expect(names).toEqual(
    expect.arrayContaining([
      'LICENSE',
      'README.md',
      'openrpc.json',
      'dist/index.d.ts',
      'dist/client/index.d.ts',
    ]),
  );
  for (const bin of Object.values(pkg.bin)) expect(names).toContain(bin.replace(/^\.\//, ''));
  // every compiled file comes from a source that still exists (no stale leftovers of old builds)
  const stale = names.filter(
    (n) =>
      /^dist\/.*\.js$/.test(n) &&
      !n.startsWith('dist/playground/') &&
      !fs.existsSync(path.join(REPO_ROOT, n.replace(/^dist\//, '').replace(/\.js$/, '.ts'))),
  );
  expect(stale).toEqual([]);
  expect(pkg.license).toBe('Apache-2.0');
  expect(fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8')).toMatch(
    /^\s*Apache License\s+Version 2\.0, January 2004/,
  );

  // --- installed as a user would, dev dependencies left out
  const consumer = path.join(work, 'consumer');
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  try {
    await run(
      'npm',
      [
        'install',
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts=false',
        '--prefer-offline',
        path.join(work, filename),
      ],
      { cwd: consumer, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (OFFLINE.test(text)) {
      console.warn(`package-install: SKIPPED, npm could not install offline:\n${text.slice(-800)}`);
      return;
    }
    throw err;
  }
  const installed = path.join(consumer, 'node_modules', pkg.name);

  // nothing an entry can reach (even lazily) is a dev dependency
  const entries = ['dist/index.js', 'dist/client/index.js', ...Object.values(pkg.bin)];
  expect(externalImports(installed, entries).filter((name) => !(name in pkg.dependencies))).toEqual([]);

  await run(process.execPath, ['-e', "require('circles'); require('circles/client')"], { cwd: consumer });
  const help = await run(path.join(consumer, 'node_modules', '.bin', 'circles'), ['--help'], {
    cwd: consumer,
  });
  expect(help.stdout).toMatch(/play/);

  // --- a TypeScript consumer of both entries (Node), and a web app of the client alone
  fs.writeFileSync(
    path.join(consumer, 'server.ts'),
    `import { launchCircles, type LaunchOptions } from 'circles';
import { CirclesClient, privateKeySigner, type PlayResult } from 'circles/client';
export const client = new CirclesClient({ url: 'ws://127.0.0.1:8443/02' });
export const signer = privateKeySigner('11'.repeat(32));
export type Used = [PlayResult, LaunchOptions, typeof launchCircles];
`,
  );
  fs.writeFileSync(
    path.join(consumer, 'web.ts'),
    `import { CirclesClient, eip1193Signer, type AuthResult } from 'circles/client';
declare const ethereum: { request(a: { method: string; params?: unknown[] }): Promise<unknown> };
export const client = new CirclesClient({ url: 'wss://example.org/02' });
export const login = (): Promise<AuthResult> => client.login(eip1193Signer(ethereum));
`,
  );
  const base = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    module: 'node16',
    moduleResolution: 'node16',
    target: 'es2022',
  };
  const tsconfig = (name: string, file: string, extra: Record<string, unknown>): string => {
    fs.writeFileSync(
      path.join(consumer, name),
      JSON.stringify({ compilerOptions: { ...base, ...extra }, files: [file] }),
    );
    return name;
  };
  const node = tsconfig('tsconfig.node.json', 'server.ts', {
    types: ['node'],
    typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')], // the consumer's own @types/node
  });
  const web = tsconfig('tsconfig.web.json', 'web.ts', { types: [], lib: ['es2022', 'dom'] });
  const check = (project: string) =>
    run(process.execPath, [tsc, '-p', project], { cwd: consumer }).catch((err: { stdout?: string }) => {
      throw new Error(`tsc -p ${project} failed:\n${err.stdout ?? String(err)}`);
    });
  await Promise.all([check(node), check(web)]);
}, 120_000);

/** Bare module names `require`d by the files reachable from `entries` (relative requires followed). */
function externalImports(root: string, entries: readonly string[]): string[] {
  const builtins = new Set(builtinModules);
  const seen = new Set<string>();
  const external = new Set<string>();
  const queue = entries.map((e) => path.join(root, e));
  while (queue.length > 0 && seen.size < 5000) {
    const file = queue.pop()!;
    if (seen.has(file) || !file.endsWith('.js')) continue;
    seen.add(file);
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/\brequire\(["']([^"']+)["']\)/g)) {
      if (spec!.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec!);
        const found = [target, `${target}.js`, path.join(target, 'index.js')].find(
          (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
        );
        if (!found)
          throw new Error(`${path.relative(root, file)} requires ${spec}, which is not in the package`);
        queue.push(found);
      } else if (!spec!.startsWith('node:') && !builtins.has(spec!)) {
        external.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
      }
    }
  }
  return [...external].sort();
}
