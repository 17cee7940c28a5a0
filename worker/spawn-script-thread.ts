import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { ScriptThreadData } from './script-job';

/**
 * Boot code for running the TypeScript thread entry without a build (ts-jest, `npm test` in
 * a fresh clone). A plain `Worker` cannot load `.ts`, and jest's transform does not reach
 * into worker threads, so this registers a `.ts` require hook that strips types with
 * `typescript.transpileModule` (per file, no type check) and then loads the entry. It is
 * plain JS by necessity; compiled builds never use it.
 */
const TS_BOOT = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { createHash } = require('node:crypto');
// Transpiled files are cached on disk (keyed by path, size and mtime) so that threads after
// the first need not load the TypeScript compiler at all.
const cacheDir = workerData.tsCacheDir;
let ts;
require.extensions['.ts'] = (module, filename) => {
  const stat = fs.statSync(filename);
  const key = createHash('sha1').update(filename + ':' + stat.size + ':' + stat.mtimeMs).digest('hex');
  const cached = path.join(cacheDir, key + '.js');
  let code;
  try {
    code = fs.readFileSync(cached, 'utf8');
  } catch {
    ts ??= require(workerData.typescriptPath);
    code = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
    }).outputText;
    fs.mkdirSync(cacheDir, { recursive: true });
    const temporary = cached + '.' + process.pid + '.' + require('node:worker_threads').threadId;
    fs.writeFileSync(temporary, code);
    fs.renameSync(temporary, cached);
  }
  module._compile(code, filename);
};
require(workerData.tsEntry);
`;

/**
 * Starts one script thread. The entry is resolved next to this file: the compiled
 * `script-thread.js` when running from `dist/`, else `script-thread.ts` through a
 * transpiling loader.
 */
export function spawnScriptThread(data: ScriptThreadData, resourceLimits: ResourceLimits): Worker {
  const compiled = path.join(__dirname, 'script-thread.js');
  if (existsSync(compiled)) return new Worker(compiled, { workerData: data, resourceLimits });
  const workerData = {
    ...data,
    tsEntry: path.join(__dirname, 'script-thread.ts'),
    typescriptPath: require.resolve('typescript'),
    tsCacheDir: path.join(os.tmpdir(), 'circles-worker-ts-cache'),
  };
  return new Worker(TS_BOOT, { eval: true, workerData, resourceLimits });
}
