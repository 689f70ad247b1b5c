/** A SQLite `-wal` as a crash, a disk or an operator may leave it: SQLite drops each without a word. */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

export interface WalDamage {
  readonly name: string;
  readonly damage: (wal: string) => void;
}

export const WAL_DAMAGES: readonly WalDamage[] = [
  { name: 'deleted', damage: (wal) => rmSync(wal) },
  { name: 'garbage', damage: (wal) => writeFileSync(wal, Buffer.alloc(statSync(wal).size, 0x5a)) },
  {
    name: 'a garbage header',
    damage: (wal) => {
      const bytes = readFileSync(wal);
      bytes.fill(0x5a, 0, 32);
      writeFileSync(wal, bytes);
    },
  },
];
