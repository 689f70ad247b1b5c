/**
 * Names of files that exist only while a program writes another file. Replicating them costs a
 * transfer and a delete and can leave debris on the replica when a delete is missed. Visible as a
 * table so operators can see what is dropped; `<filter builtinTemp="false">` switches it off.
 * Only files are matched, never directories.
 */
export const TEMP_FILE_RULES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: "vim's write-permission probe", pattern: /^4913$/ },
  { name: 'backup files (vim, emacs, nano): name~', pattern: /~$/ },
  { name: 'vim swap files: .name.swp .swo .swx …', pattern: /^\..*\.sw[a-p]$/ },
  { name: 'emacs auto-save: #name#', pattern: /^#.*#$/ },
  { name: 'emacs lock: .#name', pattern: /^\.#/ },
  { name: "rsync's receiver temp: .name.XXXXXX", pattern: /^\..+\.[A-Za-z0-9]{6}$/ },
];

export function isTempFileName(name: string): boolean {
  return TEMP_FILE_RULES.some((r) => r.pattern.test(name));
}
