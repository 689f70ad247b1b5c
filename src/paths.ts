/**
 * Paths inside a watched tree are carried as "byte strings": one JS char per byte of the file
 * name (latin1 decoding). Linux names are arbitrary bytes, and a UTF-8 JS string cannot hold a
 * non-UTF-8 name; a byte string round-trips every name exactly and still compares, hashes and
 * splits on '/' (0x2f) like an ordinary string. Convert only at the edges:
 * - to the file system or rsync's stdin: `pathBytes`
 * - to people and to user regexes (written in UTF-8): `displayPath`
 */
export type RelPath = string;

/** The bytes of a byte-string path. */
export function pathBytes(p: RelPath): Buffer {
  return Buffer.from(p, 'latin1');
}

/** A byte-string path from the raw bytes the kernel or `readdir` gave. */
export function fromBytes(b: Buffer): RelPath {
  return b.toString('latin1');
}

/** A byte-string path from an ordinary (UTF-8) JS string, e.g. from chokidar or a test. */
export function fromUtf8(s: string): RelPath {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A name rsync printed (bytes), with the bytes it deems unprintable written `\#ooo` (octal), back to its bytes. */
export function unescapeRsyncName(name: RelPath): RelPath {
  return name.replace(/\\#([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The path as text for logs and regex matching (invalid UTF-8 shows as U+FFFD). */
export function displayPath(p: RelPath): string {
  return Buffer.from(p, 'latin1').toString('utf8');
}

/** `a/b` joined; either side may be '' (the root). */
export function joinRel(dir: RelPath, name: RelPath): RelPath {
  return dir === '' ? name : name === '' ? dir : `${dir}/${name}`;
}

/** True when `p` is `dir` itself or lies below it. '' (the root) contains everything. */
export function isWithin(p: RelPath, dir: RelPath): boolean {
  return dir === '' || p === dir || p.startsWith(`${dir}/`);
}

/** True when the absolute path `p` is `dir` itself or lies below it (both normalised). */
export function isWithinPath(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** The parent of `p` ('' for an entry in the root). */
export function parentOf(p: RelPath): RelPath {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** The last component of `p`. */
export function baseName(p: RelPath): RelPath {
  return p.slice(p.lastIndexOf('/') + 1);
}
