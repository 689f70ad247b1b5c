import type { RelPath } from '../paths.js';

const ALNUM = /[A-Za-z0-9]/;

/** Percent-encodes every byte that `keep` rejects; bytes, not characters, so non-UTF-8 names survive. */
function percentEncode(bytes: Buffer, keep: (ch: string) => boolean, spaceAsPlus: boolean): string {
  let out = '';
  for (const byte of bytes) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && keep(ch)) out += ch;
    else if (spaceAsPlus && ch === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A path for a URL: RFC 3986 unreserved characters and '/' stay, everything else (space, '&', '#',
 * '%', '?', non-ASCII) is percent-encoded byte by byte. Ordinary names come out unchanged.
 */
export function encodeUrlPath(p: RelPath): string {
  return percentEncode(Buffer.from(p, 'latin1'), (ch) => ALNUM.test(ch) || '-._~/'.includes(ch), false);
}

/**
 * One application/x-www-form-urlencoded value, byte by byte. '/' is left as is (valid in a form
 * value and what sersync's source sent), so plain paths read exactly like sersync's body.
 */
function encodeFormValue(value: Buffer): string {
  return percentEncode(value, (ch) => ALNUM.test(ch) || '*-._/'.includes(ch), true);
}

/** `k1=v1&k2=v2`; string values are UTF-8, Buffer values are taken as raw bytes. */
export function formBody(fields: readonly (readonly [string, string | Buffer])[]): string {
  return fields
    .map(([k, v]) => `${k}=${encodeFormValue(typeof v === 'string' ? Buffer.from(v, 'utf8') : v)}`)
    .join('&');
}
