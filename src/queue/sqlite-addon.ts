import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let addon: string | null | undefined;

/**
 * The path of better-sqlite3's compiled addon, for its `nativeBinding` option; undefined when it is
 * not where npm (or its prebuilt download) puts it, and better-sqlite3 then searches for it through
 * `bindings`. Naming it spares that search: ~15 candidate paths and a walk up to a package.json,
 * which from the shipped bundle would start at sersync-ts's own folder.
 */
export function sqliteAddon(): string | undefined {
  if (addon === undefined) {
    const dir = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
    const built = ['Release', 'Debug'].map((kind) => join(dir, 'build', kind, 'better_sqlite3.node'));
    addon = built.find((file) => existsSync(file)) ?? null;
  }
  return addon ?? undefined;
}
