/**
 * The rsync password file, checked the way rsync checks it before every run: a file that others
 * can read is refused (and every sync fails), one owned by someone else is refused when rsync
 * runs as root. A file its group can read is accepted by rsync but exposes the secret.
 */
import { statSync } from 'node:fs';
import { quote } from 'shell-quote';

export interface FileFacts {
  readonly mode: number;
  readonly uid: number;
}

/** What is wrong with a password file with these facts, for a process of `myUid`; null if nothing. */
export function passwordFileProblem(path: string, facts: FileFacts, myUid: number): string | null {
  const mode = (facts.mode & 0o777).toString(8).padStart(4, '0');
  const chmod = quote(['chmod', '600', path]);
  if ((facts.mode & 0o007) !== 0) {
    return `passwordfile ${path} can be read by others (mode ${mode}): rsync refuses it, so every sync would fail; fix: ${chmod}`;
  }
  if ((facts.mode & 0o070) !== 0) {
    return `passwordfile ${path} can be read by its group (mode ${mode}): the password is not private; fix: ${chmod}`;
  }
  if (myUid === 0 && facts.uid !== 0) {
    return `passwordfile ${path} is owned by uid ${facts.uid}: rsync run as root refuses it; fix: ${quote(['chown', 'root', path])}`;
  }
  return null;
}

/** Looks at the file itself; a file that is not there is reported elsewhere (`check`'s notes). */
export function inspectPasswordFile(path: string): string | null {
  let facts: FileFacts;
  try {
    facts = statSync(path);
  } catch {
    return null;
  }
  return passwordFileProblem(path, facts, process.getuid?.() ?? -1);
}
