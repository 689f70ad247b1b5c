import { readFileSync } from 'node:fs';
import { packageFile } from './package-files.js';

let version: string | undefined;

/**
 * This package's version, from its package.json, read once: status asks for it on every request,
 * and must still answer when the daemon is out of file descriptors.
 */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
  return version;
}
