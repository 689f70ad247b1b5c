import { runsTreeFiles } from '../config/plugins.js';
import type { Config } from '../config/types.js';
import { hasUpdate } from '../sync/rsync-args.js';

/** One way sersync-ts behaves differently from sersync for a given config. */
export interface Difference {
  readonly id: string;
  /** What changes, one line. */
  readonly change: string;
  /** Why. */
  readonly why: string;
}

interface Rule extends Difference {
  readonly applies: (c: Config) => boolean;
}

const ROOT_REPLACING_PLUGINS = new Set(['socket', 'refreshCDN', 'http']);

/** Every difference, with the configs it concerns; `migrationReport` keeps the ones that apply. */
const RULES: readonly Rule[] = [
  {
    id: 'dot-files',
    applies: (c) => !c.tempFiles.ignoreDotFiles,
    change: 'files whose name starts with "." (.htaccess, .env, .user.ini) are replicated and deleted',
    why: 'sersync silently never synced them; set <filter ignoreDotFiles="true"> to keep the old rule',
  },
  {
    id: 'filter-path-forms',
    applies: (c) => c.filter.enabled && c.filter.excludes.length > 0,
    change: 'each exclude regex is matched against both "sub/x" and "/sub/x" (and "dir/" forms)',
    why: 'sersync matched root entries without and deeper ones with a leading "/", so e.g. "sub/tmp(.*)" never matched',
  },
  {
    id: 'filter-full-syncs',
    applies: (c) => c.filter.enabled && c.filter.excludes.length > 0,
    change: '-r and the crontab full sync run, and honour the realtime exclude filter',
    why: 'sersync skipped -r and disabled the crontab (without a crontab filter) when the filter was on',
  },
  {
    id: 'filter-new-dir-contents',
    applies: (c) => c.filter.enabled && c.filter.excludes.length > 0,
    change: 'an excluded file created inside a new directory stays off the replica',
    why: "sersync's recursive rsync of a new directory carried everything in it, excluded or not",
  },
  {
    id: 'update-event-syncs',
    applies: (c) => hasUpdate(c.rsync.commonParams),
    change: 'commonParams -u (--update) applies to full syncs only, not to real-time syncs',
    why: 'an older file restored over a newer one (cp -p, mv, tar x) was skipped, and the replica kept the stale copy',
  },
  {
    id: 'ssh-password-file',
    applies: (c) => c.rsync.ssh && c.rsync.auth.enabled,
    change: 'ssh targets get no --password-file (and the port goes to ssh -p)',
    why: 'rsync refuses --password-file without a daemon, so every sersync rsync here failed with exit 1',
  },
  {
    id: 'several-localpaths',
    applies: (c) => c.localpaths.length > 1,
    change: 'every <localpath> is watched and replicated, all by this one process',
    why: 'sersync used only the first <localpath> and ignored the others without a word',
  },
  {
    id: 'no-sysctl',
    applies: () => true,
    change: '/proc/sys/fs/inotify is never written',
    why: 'sersync set max_user_watches and max_queued_events at every start, overriding admin tuning; we report the limit instead',
  },
  {
    id: 'fail-log-mirror',
    applies: () => true,
    change: 'the fail log is a mirror of the durable retry queue and is never executed (mode 0600)',
    why: 'sersync re-ran it every timeToExecute minutes and truncated it even when commands failed again, losing them',
  },
  {
    id: 'fail-log-in-tree',
    applies: (c) => c.failLog.inTrees.length > 0,
    change: 'the fail log lies in a watched tree: it is not replicated, and rewriting it is not a change',
    why: 'sersync replicated it like any file: while a remote was down each failure rewrote it, one more change to send and one more failure, without end',
  },
  {
    id: 'plugin-root',
    applies: (c) => c.plugin.enabled && c.plugin.name !== null && ROOT_REPLACING_PLUGINS.has(c.plugin.name),
    change: "the plugin's own localpath no longer replaces the synced tree",
    why: 'sersync silently watched and rsynced the socket/refreshCDN plugin directory instead of <sersync><localpath>',
  },
  {
    id: 'command-runs-tree-files',
    applies: (c) =>
      c.plugin.enabled && c.plugin.name === 'command' && runsTreeFiles(c.plugin.command?.prefix ?? []),
    change: 'check and every start warn that the command plugin runs each changed file as a program, as root',
    why: 'the plugin runs it as sersync did; anyone who can write into the tree can run commands as root',
  },
  {
    id: 'attrib-sync',
    applies: (c) => c.inotify.attrib,
    change: 'chmod/chown/touch (IN_ATTRIB) syncs the entry, and directories stay watched',
    why: 'sersync treated it as a delete, and a chmod of a directory stopped all syncing below it',
  },
  {
    id: 'new-dirs-watched',
    applies: (c) => !c.inotify.createFolder,
    change: 'new directories are always watched and their contents synced',
    why: 'with createFolder off sersync never watched new directories, so nothing created in them reached the replica',
  },
  {
    id: 'unclosed-files',
    applies: (c) => c.inotify.closeWrite && !(c.inotify.modify && c.inotify.createFile),
    change:
      'a file whose close never comes (a maildir delivery or git object linked in, a live SQLite database or log a program keeps open) is sent once it stays unchanged: 1 s if created, 5 s if written in place',
    why: 'sersync waited for that close for ever: such files never reached the replica, and nothing said so',
  },
  {
    id: 'stop-queues',
    applies: () => true,
    change: 'a stop queues the changes not sent yet, and the next start sends them',
    why: 'sersync lost the changes still in its memory at each stop or restart',
  },
  {
    id: 'batched-runs',
    applies: () => true,
    change: 'changes are sent in batches (one rsync for many paths) instead of one rsync per event',
    why: 'bursts cost a handful of rsync runs; the replica ends up the same',
  },
  {
    id: 'ipv6-bracketed',
    applies: (c) =>
      c.localpaths.some((l) =>
        l.remotes.some(
          (r) => r.target.kind !== 'local' && r.target.host.includes(':') && !r.target.host.startsWith('['),
        ),
      ),
    change: 'a remote named by a bare IPv6 address is given to rsync in brackets ([2001:db8::5]::www)',
    why: 'sersync pasted it bare, which rsync splits at its first "::": nothing ever reached that remote',
  },
  {
    id: 'tcp-nodelay',
    applies: (c) => c.localpaths.some((l) => l.remotes.some((r) => r.target.kind === 'daemon')),
    change: 'rsync-daemon connections use --sockopts=TCP_NODELAY',
    why: 'it cuts ~130 ms of Nagle/delayed-ACK stall per run; add "socket options = TCP_NODELAY" to rsyncd.conf too',
  },
];

/** What will behave differently under sersync-ts for this config, in a fixed order. */
export function migrationReport(config: Config): Difference[] {
  return RULES.filter((r) => r.applies(config)).map(({ id, change, why }) => ({ id, change, why }));
}
