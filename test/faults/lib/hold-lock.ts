/**
 * Holds a write lock on a SQLite database until killed, as a forgotten `sqlite3` shell with an
 * open transaction would: `node hold-lock.js FILE` prints `locked` once it holds it.
 */
import Database from 'better-sqlite3';

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: hold-lock FILE');
const db = new Database(file);
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\n');
setInterval(() => undefined, 60_000);
