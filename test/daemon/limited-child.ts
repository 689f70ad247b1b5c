/**
 * Runs sersync2 with a lowered inotify watch limit. Started inside a private user namespace
 * (`unshare --user --map-root-user`), whose own limit it may set without touching the machine's:
 *   node limited-child.js <limit> <node> <cli> <sersync2 arguments…>
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [limit = '', node = '', cli = '', ...args] = process.argv.slice(2);
writeFileSync('/proc/sys/user/max_inotify_watches', limit);
process.argv = [node, cli, ...args];
await import(pathToFileURL(cli).href);
