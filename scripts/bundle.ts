/**
 * The shipped bundles, made from tsc's output by `npm run build`: the CLI and the rsync worker,
 * each one CommonJS file. Node loads one CommonJS file much faster than a graph of ES modules, and
 * piscina require()s a CommonJS worker at once (see src/sync/pool.ts).
 */
import { rmSync } from 'node:fs';
import { build, type BuildOptions } from 'esbuild';

const COMMON: BuildOptions = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

rmSync('dist/bin', { recursive: true, force: true });
await Promise.all([
  build({
    ...COMMON,
    entryPoints: ['dist/src/cli/main.js'],
    outfile: 'dist/bin/sersync2.cjs',
    // Native code, and a package that starts worker threads from files of its own.
    external: ['better-sqlite3', 'piscina'],
    define: { 'import.meta.url': 'bundleUrl' },
    // 'use strict' first: after this banner, esbuild's own directive would be a plain string.
    banner: { js: "'use strict'; const bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  }),
  build({ ...COMMON, entryPoints: ['dist/workers/rsync.js'], outfile: 'dist/workers/rsync.cjs' }),
]);
