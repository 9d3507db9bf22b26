/**
 * RFC 3986 §6.2.2 normalization of the percent-encodings in a request path,
 * as Cloudflare's own URL normalization does it: an octet of an unreserved
 * character (letters, digits, `-`, `.`, `_`, `~`) is decoded, and every other
 * escape gets uppercase hex digits. `/%61dmin` and `/admin` are one path to
 * any origin, which decodes the escape; compared as written, a client chose
 * its service with an escape (the catch-all's origin served `/admin`, past the
 * `/admin` service's `auth.jwt` and `rateLimits`). A reserved character stays
 * encoded: `%2F` is data, not a segment boundary.
 */
export function canonicalPath(path: string): string {
  // Most paths have no escape at all: no regex, no new string.
  return path.includes("%") ? path.replace(ESCAPE, normalizeEscape) : path;
}

const ESCAPE = /%([0-9A-Fa-f]{2})/g;

function normalizeEscape(escape: string, hex: string): string {
  const code = parseInt(hex, 16);
  return isUnreserved(code) ? String.fromCharCode(code) : escape.toUpperCase();
}

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x7e // ~
  );
}
