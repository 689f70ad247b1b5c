/**
 * The rsync password file, checked the way rsync checks it before every run: a file that others
 * can read is refused (and every sync fails), one owned by someone else is refused when rsync
 * runs as root. A file its group can read is accepted by rsync but exposes the secret.
 */
import { accessSync, constants, lstatSync, realpathSync, statSync } from 'node:fs';
import { quote } from 'shell-quote';

export interface FileFacts {
  readonly mode: number;
  readonly uid: number;
}

/** What is wrong with a file with these facts, and the command that fixes it (for `path`). */
function finding(path: string, facts: FileFacts, myUid: number): { what: string; fix: string } | null {
  const mode = (facts.mode & 0o777).toString(8).padStart(4, '0');
  const chmod = quote(['chmod', '600', path]);
  if ((facts.mode & 0o007) !== 0) {
    return {
      what: `can be read by others (mode ${mode}): rsync refuses it, so every sync would fail`,
      fix: chmod,
    };
  }
  if ((facts.mode & 0o070) !== 0) {
    return { what: `can be read by its group (mode ${mode}): the password is not private`, fix: chmod };
  }
  if (myUid === 0 && facts.uid !== 0) {
    return {
      what: `is owned by uid ${facts.uid}: rsync run as root refuses it`,
      fix: quote(['chown', 'root', path]),
    };
  }
  return null;
}

/** What is wrong with a password file with these facts, for a process of `myUid`; null if nothing. */
export function passwordFileProblem(path: string, facts: FileFacts, myUid: number): string | null {
  const f = finding(path, facts, myUid);
  return f === null ? null : `passwordfile ${path} ${f.what}; fix: ${f.fix}`;
}

/**
 * The same for a password file named through a symbolic link: rsync reads the target, and a
 * chmod or chown of the link would change whatever it points at (it may be /etc/shadow), so no
 * command is suggested: the operator must first see where the link leads.
 */
export function linkedPasswordFileProblem(
  link: string,
  target: string,
  facts: FileFacts,
  myUid: number,
): string | null {
  const f = finding(target, facts, myUid);
  if (f === null) return null;
  return (
    `passwordfile ${link} is a symbolic link to ${target}, which ${f.what}; check that the link ` +
    `points at the rsync password file before changing ${target} (never chmod or chown the link)`
  );
}

/**
 * A password file rsync cannot open (`reason`: missing, not readable by this user). rsync then stops
 * before connecting, and its only word on it ("could not open password file") precedes the
 * generic "syntax or usage error (code 1)" that every sync fails with.
 */
export function unreadablePasswordFile(path: string, reason: string): string {
  return (
    `passwordfile ${path} cannot be read (${reason}): rsync stops at "could not open password file", so ` +
    `every sync would fail with "syntax or usage error (code 1)"; fix: write the rsync module's password ` +
    `into it (one line), then ${quote(['chmod', '600', path])}, or turn <auth start> off`
  );
}

/** Looks at the file itself, as the user sersync2 runs as (rsync reads it as that user). */
export function inspectPasswordFile(path: string): string | null {
  const myUid = process.getuid?.() ?? -1;
  try {
    accessSync(path, constants.R_OK);
    if (lstatSync(path).isSymbolicLink()) {
      return linkedPasswordFileProblem(path, realpathSync(path), statSync(path), myUid);
    }
    return passwordFileProblem(path, statSync(path), myUid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return unreadablePasswordFile(path, code === 'ENOENT' ? 'it does not exist' : (code ?? String(err)));
  }
}
