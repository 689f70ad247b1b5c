import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressReporter, ProgressSubject } from '../../src/sync/progress-report.js';
import type { RsyncProgress } from '../../src/sync/rsync-progress.js';

/**
 * `dirs` directories of `perDir` small files under `root`; returns the files written and the
 * entries rsync counts for the tree (files, directories and the root itself).
 */
export function populate(
  root: string,
  dirs: number,
  perDir: number,
  prefix = 'f',
): { files: number; entries: number } {
  for (let d = 0; d < dirs; d++) {
    const dir = join(root, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) writeFileSync(join(dir, `${prefix}${f}`), `${d}/${f}\n`);
  }
  return { files: dirs * perDir, entries: dirs * perDir + dirs + 1 };
}

/**
 * What a terminal shows at one place: the text between line ends, cursor moves, line clears and
 * wrap switches (the sequences cli-progress writes), empty pieces dropped.
 */
export function drawnPieces(out: string): string[] {
  // eslint-disable-next-line no-control-regex -- ESC is what is being matched
  return out.split(/[\r\n]|\x1b\[\d*[AGK]|\x1b\[\?7[hl]/).filter((s) => s !== '');
}

export interface RecordedTrack {
  readonly subject: ProgressSubject;
  readonly updates: RsyncProgress[];
  ended: boolean;
}

/** A reporter that keeps everything it is told. */
export function recordingReporter(): ProgressReporter & { readonly tracks: RecordedTrack[] } {
  const tracks: RecordedTrack[] = [];
  return {
    tracks,
    begin(subject) {
      const t: RecordedTrack = { subject, updates: [], ended: false };
      tracks.push(t);
      return {
        update(p) {
          assert(!t.ended, 'no update after end');
          t.updates.push(p);
        },
        end() {
          t.ended = true;
        },
      };
    },
  };
}

function assert(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

/**
 * True when process `pid` holds an inotify watch on `dir`: the kernel's own view
 * (/proc/PID/fdinfo lists each watch's inode), for a program that prints nothing once it watches.
 */
export function watchesDirectory(pid: number, dir: string): boolean {
  const ino = statSync(dir).ino.toString(16);
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== 'anon_inode:inotify') continue;
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    if (new RegExp(`^inotify wd:\\S+ ino:${ino} `, 'm').test(info)) return true;
  }
  return false;
}
