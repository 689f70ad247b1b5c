import type { JsRegex } from '../config/boost-regex.js';
import type { Config } from '../config/types.js';
import { isReplacingTemp } from '../owned-files.js';
import { baseName, displayPath, parentOf, type RelPath } from '../paths.js';

/**
 * What decides whether a path of the tree is replicated at all, in a form that crosses to a
 * worker thread (regexes as sources): the same rule applies to events and to tree walks.
 */
export interface FilterSpec {
  /** `<filter start="true">` exclude expressions as whole-string patterns (empty when the filter is off). */
  readonly excludes: readonly JsRegex[];
  readonly ignoreDotFiles: boolean;
  /**
   * sersync2's own files in the tree (the fail log): never replicated, nor the temporary files they
   * are replaced through, so that writing them is not a change (see `placeFailLog`).
   */
  readonly own: readonly RelPath[];
}

/** The filter of the tree watched at `watch` (its own files: see `FilterSpec.own`). */
export function filterSpecOf(config: Config, watch: string): FilterSpec {
  return {
    excludes: config.filter.enabled
      ? config.filter.excludes.map((e) => ({ source: e.regex.source, flags: e.regex.flags }))
      : [],
    ignoreDotFiles: config.tempFiles.ignoreDotFiles,
    own: config.failLog.inTrees.filter((t) => t.watch === watch).map((t) => t.path),
  };
}

/** True when the path must never reach the replica. */
export type PathPredicate = (path: RelPath, isDir: boolean) => boolean;

/**
 * sersync matched exclude regexes against the whole relative path, but built it as `name` for
 * entries in the root and as `/dir/name` below it (and `dir/` when setting watches), so the same
 * expression behaved differently by depth. We match every form, so each existing config keeps
 * excluding what it excluded and now also excludes what its author meant.
 */
export function compilePathFilter(spec: FilterSpec): PathPredicate {
  const regexes = spec.excludes.map((e) => new RegExp(e.source, e.flags));
  const matches = (text: string, isDir: boolean): boolean =>
    regexes.some(
      (r) =>
        r.test(text) ||
        r.test(`/${text}`) ||
        (isDir && [text, `/${text}`].some((form) => isDirectoryRule(r, form))),
    );
  const own = (path: RelPath): boolean =>
    spec.own.some(
      (o) => path === o || (parentOf(path) === parentOf(o) && isReplacingTemp(baseName(path), baseName(o))),
    );
  return (path, isDir) => {
    if (path === '') return false;
    if (!isDir) {
      if (own(path)) return true;
      const name = displayPath(baseName(path));
      // The temp-name table only delays a file (held-files.ts); dot files are sersync's own rule.
      if (spec.ignoreDotFiles && (name.startsWith('.') || name.endsWith('~'))) return true;
    }
    return regexes.length > 0 && matches(displayPath(path), isDir);
  };
}

/**
 * The `dir/` form excludes a directory only when the expression is about the directory itself
 * (`(.*)/cache/`), not about what is inside it (`(.*)/cache/(.*)` also matches `cache/x`):
 * sersync matched whole strings, so the directory of a contents rule was still replicated, and
 * its removal too.
 */
function isDirectoryRule(r: RegExp, form: string): boolean {
  return r.test(`${form}/`) && !r.test(`${form}/x`);
}
