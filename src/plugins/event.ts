import { fromUtf8, type RelPath } from '../paths.js';
import type { PluginEvent } from './types.js';

/** A root as a byte string without trailing slashes, so `/` and `/W/` join like `/W`. */
function rootBytes(root: string): RelPath {
  return fromUtf8(root).replace(/\/+$/, '');
}

/** The event's absolute path as a byte string (root + '/' + path, byte-exact). */
export function absolutePath(ev: PluginEvent): RelPath {
  return `${rootBytes(ev.root)}/${ev.path}`;
}

/**
 * `abs` relative to `watch` with its leading '/', as sersync cuts it (`/W/a/b` under `/W` → `/a/b`);
 * null when `abs` does not lie below `watch`.
 */
export function pathUnderWatch(abs: RelPath, watch: string): RelPath | null {
  const w = rootBytes(watch);
  return abs.startsWith(`${w}/`) ? abs.slice(w.length) : null;
}

const IN_CLOSE_WRITE = 0x8;
const IN_DELETE = 0x200;
const IN_CREATE = 0x100;
const IN_ISDIR = 0x40000000;

/** The inotify mask a sersync plugin would have seen for this kind of event. */
export function inotifyMask(ev: Pick<PluginEvent, 'isDir' | 'op'>): number {
  const base = ev.op === 'delete' ? IN_DELETE : ev.isDir ? IN_CREATE : IN_CLOSE_WRITE;
  return ev.isDir ? base | IN_ISDIR : base;
}
