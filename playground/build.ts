/**
 * Bundles the playground page with esbuild: `app.ts` (and the client and CodeMirror it
 * imports) into one `app.js`, `app.css` minified, `index.html` copied. The server serves
 * these three files (transport/playground-route.ts). `npm run build` runs it after tsc:
 * `node dist/playground/build.js <source dir> <out dir>`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export interface PlaygroundBuild {
  /** Folder holding `app.ts`, `app.css` and `index.html`. */
  readonly sourceDir: string;
  /** Where `app.js`, `app.css` and `index.html` go. */
  readonly outDir: string;
}

export async function buildPlayground({ sourceDir, outDir }: PlaygroundBuild): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(sourceDir, 'app.ts'), path.join(sourceDir, 'app.css')],
    outdir: outDir,
    entryNames: '[name]',
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    logLevel: 'warning',
    // package.json's "browser" field maps `ws` (the client's Node 20 fallback) to nothing
  });
  fs.copyFileSync(path.join(sourceDir, 'index.html'), path.join(outDir, 'index.html'));
}

if (require.main === module) {
  const [sourceDir = 'playground', outDir = 'dist/playground'] = process.argv.slice(2);
  const started = Date.now();
  buildPlayground({ sourceDir, outDir }).then(
    () => process.stdout.write(`playground built into ${outDir} in ${Date.now() - started} ms\n`),
    (err: unknown) => {
      process.stderr.write(`playground build failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
