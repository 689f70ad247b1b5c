import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The installed package's directory: the nearest one above this code that holds package.json. This
 * code runs from tsc's output (dist/src/…, tests) or from the shipped bundle (dist/bin/), at
 * different depths, so files beside the package are found from its root, not by relative URL.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  root = dir;
  return root;
}

/** A file of the installed package, by its path from the package's root. */
export function packageFile(...path: string[]): string {
  return join(packageRoot(), ...path);
}
