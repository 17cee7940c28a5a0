import fs from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread running `modulePath` (absolute, without extension). From a build
 * (`dist/`) the compiled `.js` loads directly; from TypeScript sources (ts-jest, dev runs)
 * the thread registers a minimal `.ts` loader that transpiles with the TypeScript compiler,
 * so specs exercise the real threads without a prior build.
 */
export function startThread(modulePath: string, options: WorkerOptions = {}): Worker {
  const js = `${modulePath}.js`;
  if (fs.existsSync(js)) return new Worker(js, options);
  const tsPath = require.resolve('typescript', { paths: [__dirname] });
  const boot = `
    const ts = require(${JSON.stringify(tsPath)});
    const fs = require('fs');
    require.extensions['.ts'] = (m, filename) => {
      const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
        fileName: filename,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      m._compile(out.outputText, filename);
    };
    require(${JSON.stringify(`${modulePath}.ts`)});
  `;
  return new Worker(boot, { ...options, eval: true });
}
