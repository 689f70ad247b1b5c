/**
 * Runs sersync2 under libfaketime, already preloaded into this node by the caller's LD_PRELOAD:
 * the variable is removed before the CLI loads, so the rsync it runs keeps the real clock (and
 * does not load the library, which a confined receiver cannot initialise).
 *   LD_PRELOAD=libfaketime.so.1 … node clock-child.js <node> <cli> <sersync2 arguments…>
 */
import { pathToFileURL } from 'node:url';

const [node = '', cli = '', ...args] = process.argv.slice(2);
delete process.env.LD_PRELOAD;
process.argv = [node, cli, ...args];
await import(pathToFileURL(cli).href);
