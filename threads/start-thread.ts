import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Boot code for a thread whose entry is TypeScript (ts-jest, `npm test` in a fresh clone): a
 * plain Worker cannot load `.ts` and jest's transform does not reach into threads, so this
 * registers a `.ts` require hook that strips types with `typescript.transpileModule` (per file,
 * no type check). Output is cached on disk by path, size and mtime, so threads after the first
 * need not load the compiler at all. Compiled builds never use it.
 */
function tsBoot(entry: string, typescriptPath: string, cacheDir: string): string {
  return `
const fs = require('node:fs');
const path = require('node:path');
const { createHash } = require('node:crypto');
const { threadId } = require('node:worker_threads');
const cacheDir = ${JSON.stringify(cacheDir)};
let ts;
require.extensions['.ts'] = (module, filename) => {
  const stat = fs.statSync(filename);
  const key = createHash('sha1').update(filename + ':' + stat.size + ':' + stat.mtimeMs).digest('hex');
  const cached = path.join(cacheDir, key + '.js');
  let code;
  try {
    code = fs.readFileSync(cached, 'utf8');
  } catch {
    ts ??= require(${JSON.stringify(typescriptPath)});
    code = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true, inlineSourceMap: true },
    }).outputText;
    fs.mkdirSync(cacheDir, { recursive: true });
    const temporary = cached + '.' + process.pid + '.' + threadId;
    fs.writeFileSync(temporary, code);
    fs.renameSync(temporary, cached);
  }
  module._compile(code, filename);
};
require(${JSON.stringify(entry)});
`;
}

/**
 * Starts a worker thread running `modulePath` (absolute, without extension): the compiled
 * `.js` when it exists (a build), else the `.ts` source through the transpiling loader.
 */
export function startThread(modulePath: string, options: WorkerOptions = {}): Worker {
  const js = `${modulePath}.js`;
  if (fs.existsSync(js)) return new Worker(js, options);
  const boot = tsBoot(
    `${modulePath}.ts`,
    require.resolve('typescript', { paths: [__dirname] }),
    path.join(os.tmpdir(), 'circles-ts-thread-cache'),
  );
  return new Worker(boot, { ...options, eval: true });
}
