/**
 * The shipped bundles, made from tsc's output by `npm run build`: the CLI, piscina's thread bootstrap
 * and the rsync worker, each one CommonJS file. Node loads one CommonJS file much faster than a graph
 * of ES modules, and piscina require()s a CommonJS worker at once (see src/sync/pool.ts). Bundling
 * piscina and better-sqlite3's JavaScript too spares Node's module resolution ~30 files: that work
 * alone made V8 compile its path functions with TurboFan at every start, ~3.5 MB of resident code.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const COMMON: BuildOptions = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

/** `import.meta.url` in a CommonJS bundle: the bundle's own file (src/package-files.ts finds the package from it). */
const OWN_URL: BuildOptions = {
  define: { 'import.meta.url': 'bundleUrl' },
  // 'use strict' first: after this banner, esbuild's own directive would be a plain string.
  banner: { js: "'use strict'; const bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

const piscinaDir = dirname(createRequire(import.meta.url).resolve('piscina'));
const CLI_BUNDLE = 'dist/bin/sersync2.cjs';
/** Where piscina's own thread bootstrap goes; its pool looks for it from the CLI bundle's folder. */
const PISCINA_THREAD = 'dist/workers/piscina.cjs';
const PISCINA_LOOKUP = "(0, node_path_1.resolve)(__dirname, 'worker.js')";

/** Bundled, piscina would look for its thread file beside the CLI bundle: point it at PISCINA_THREAD. */
const piscinaThread: Plugin = {
  name: 'piscina-thread',
  setup(b) {
    b.onLoad({ filter: /[\\/]piscina[\\/]dist[\\/]index\.js$/ }, (file) => {
      const code = readFileSync(file.path, 'utf8');
      if (!code.includes(PISCINA_LOOKUP))
        throw new Error(`${file.path}: piscina no longer finds its thread by ${PISCINA_LOOKUP}`);
      const to = `(0, node_path_1.resolve)(__dirname, '${relative(dirname(CLI_BUNDLE), PISCINA_THREAD)}')`;
      return { contents: code.replace(PISCINA_LOOKUP, to), loader: 'js' };
    });
  },
};

rmSync(dirname(CLI_BUNDLE), { recursive: true, force: true });
await Promise.all([
  build({
    ...COMMON,
    entryPoints: ['dist/src/cli/main.js'],
    outfile: CLI_BUNDLE,
    // better-sqlite3 is given its addon's path (src/queue/sqlite-addon.ts), so `bindings`, which
    // finds it from the caller's stack, is only the fallback; @napi-rs/nice is only for niceIncrement.
    external: ['bindings', '@napi-rs/nice'],
    plugins: [piscinaThread],
    ...OWN_URL,
  }),
  build({
    ...COMMON,
    entryPoints: [join(piscinaDir, 'worker.js')],
    outfile: PISCINA_THREAD,
    external: ['@napi-rs/nice'],
  }),
  // The worker reads the file clock through the native binding, found from the package's root.
  build({ ...COMMON, entryPoints: ['dist/workers/rsync.js'], outfile: 'dist/workers/rsync.cjs', ...OWN_URL }),
]);
