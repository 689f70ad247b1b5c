import { fromBytes, type RelPath } from '../paths.js';

/** inotify mask bits (linux/inotify.h; part of the kernel ABI, identical on every architecture). */
export const IN = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ONLYDIR: 0x1000000,
  DONT_FOLLOW: 0x2000000,
  ISDIR: 0x40000000,
} as const;

/**
 * What we ask the kernel for on every directory: all changes (the filter stage applies the config's
 * toggles), never following a symlink, and only ever on a directory.
 */
export const WATCH_MASK =
  IN.CREATE |
  IN.CLOSE_WRITE |
  IN.MODIFY |
  IN.ATTRIB |
  IN.DELETE |
  IN.MOVED_FROM |
  IN.MOVED_TO |
  IN.DELETE_SELF |
  IN.MOVE_SELF |
  IN.DONT_FOLLOW |
  IN.ONLYDIR;

/** One `struct inotify_event`; `name` is '' for events about the watched directory itself. */
export interface RawInotifyEvent {
  readonly wd: number;
  readonly mask: number;
  readonly cookie: number;
  readonly name: RelPath;
}

/** sizeof(struct inotify_event) without the name: int wd; uint32 mask, cookie, len. */
const HEADER_BYTES = 16;

/**
 * Splits a buffer of `struct inotify_event` records as read(2) returns them. The kernel pads each
 * name with NULs to an aligned length; the name ends at the first NUL. Host byte order (every
 * Linux Node runs on is little-endian).
 */
export function parseInotifyEvents(buf: Buffer): RawInotifyEvent[] {
  const events: RawInotifyEvent[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(at + 12);
    const nameStart = at + HEADER_BYTES;
    const nameEnd = nameStart + len;
    if (nameEnd > buf.length) break; // never happens with read(2); guards hand-made buffers
    const nul = buf.indexOf(0, nameStart);
    events.push({
      wd: buf.readInt32LE(at),
      mask: buf.readUInt32LE(at + 4),
      cookie: buf.readUInt32LE(at + 8),
      name: fromBytes(buf.subarray(nameStart, nul >= nameStart && nul < nameEnd ? nul : nameEnd)),
    });
    at = nameEnd;
  }
  return events;
}

/** The bytes read(2) would return for `events` (names NUL-padded to 16 bytes): for tests and injection. */
export function encodeInotifyEvents(events: readonly RawInotifyEvent[]): Buffer {
  return Buffer.concat(
    events.map((e) => {
      const name = Buffer.from(e.name, 'latin1');
      const len = e.name === '' ? 0 : Math.ceil((name.length + 1) / 16) * 16;
      const record = Buffer.alloc(HEADER_BYTES + len);
      record.writeInt32LE(e.wd, 0);
      record.writeUInt32LE(e.mask >>> 0, 4);
      record.writeUInt32LE(e.cookie, 8);
      record.writeUInt32LE(len, 12);
      name.copy(record, HEADER_BYTES);
      return record;
    }),
  );
}
