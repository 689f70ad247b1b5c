/**
 * Names of files that usually exist only while a program writes another file. Their sends are
 * delayed (held-files.ts) so that one removed or renamed within moments never travels; a real
 * file with such a name (`.env.sample`) is sent once it stays. Visible as a table so operators
 * can see what is delayed; `<filter builtinTemp="false">` switches it off. Only files, never
 * directories.
 */
/** rsync's receiver writes a file as `.NAME.XXXXXX` beside it, then renames it. */
const RSYNC_TEMP = /^\.(.+)\.[A-Za-z0-9]{6}$/;

export const TEMP_FILE_RULES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: "vim's write-permission probe", pattern: /^4913$/ },
  { name: 'backup files (vim, emacs, nano): name~', pattern: /~$/ },
  { name: 'vim swap files: .name.swp .swo .swx …', pattern: /^\..*\.sw[a-p]$/ },
  { name: 'emacs auto-save: #name#', pattern: /^#.*#$/ },
  { name: 'emacs lock: .#name', pattern: /^\.#/ },
  { name: "rsync's receiver temp: .name.XXXXXX", pattern: RSYNC_TEMP },
];

export function isTempFileName(name: string): boolean {
  return TEMP_FILE_RULES.some((r) => r.pattern.test(name));
}

/** The name of the file an rsync receiver's temporary name is for, or null for another name. */
export function rsyncTempFileOf(name: string): string | null {
  return RSYNC_TEMP.exec(name)?.[1] ?? null;
}
