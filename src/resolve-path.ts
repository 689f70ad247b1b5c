import { dirname, join } from 'node:path';

/** As many symlinks as the kernel follows in one path before ELOOP. */
export const MAX_LINKS = 40;

/** ELOOP: more symlinks on the way than the kernel follows; `at` is the one past the limit. */
export class TooManyLinksError extends Error {
  readonly code = 'ELOOP';

  constructor(
    path: string,
    readonly at: string,
  ) {
    super(`too many symlinks: ${path}`);
  }
}

/**
 * Resolves `path` as the kernel does (relative to the working directory, `..` after following
 * links), one component at a time, so that each can be judged before it is used, where realpath
 * would follow every link unseen. `step(here, at)` is called for each component `here`, below the
 * directory `at` reached so far (which holds no symlink), and returns the target of `here` when it
 * is a symlink (followed next), or null to go down into it; it throws to stop. Returns the
 * directory reached.
 */
export function resolveStepByStep(path: string, step: (here: string, at: string) => string | null): string {
  const rest = (path.startsWith('/') ? path : `${process.cwd()}/${path}`).split('/');
  let at = '/';
  let links = 0;
  for (let name = rest.shift(); name !== undefined; name = rest.shift()) {
    if (name === '' || name === '.') continue;
    if (name === '..') {
      at = dirname(at); // `at` holds no link: its parent is the physical one
      continue;
    }
    const here = join(at, name);
    const target = step(here, at);
    if (target === null) {
      at = here;
      continue;
    }
    if (++links > MAX_LINKS) throw new TooManyLinksError(path, here);
    if (target.startsWith('/')) at = '/';
    rest.unshift(...target.split('/'));
  }
  return at;
}
