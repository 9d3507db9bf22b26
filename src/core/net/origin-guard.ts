/**
 * Refuses origin URLs that point at loopback, private, link-local or other
 * non-public addresses, so a registration token cannot turn the mesh into a
 * proxy onto an internal network (SSRF). Local dev and tests opt out with
 * ALLOW_PRIVATE_ORIGINS="true".
 *
 * The host is checked in the form the WHATWG URL parser (the one fetch uses)
 * gives it: that already turns every IPv4 notation (decimal `2130706433`, octal
 * `0177.0.0.1`, hex `0x7f.1`, shortened `127.1`, zero-padded) into dotted quads
 * and compresses IPv6. Trailing dots are stripped and the rest parsed again,
 * because the parser only drops one (`127.0.0.1..` stays a "domain").
 *
 * Limit, stated plainly: only literal addresses and well-known local names are
 * checked. A public DNS name that resolves to a private address passes, because
 * Workers cannot resolve names before fetch; a later hardening issue covers it.
 */

/**
 * Names that only mean something inside a network: single-label names (resolved
 * through a search list, e.g. `metadata`, `instance-data`, `ip6-localhost`) and
 * the suffixes of RFC 6761/6762 Appendix G, RFC 8375 and Kubernetes cluster DNS.
 */
const LOCAL_SUFFIXES = [
  "localhost",
  "localdomain",
  "local",
  "internal",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "home.arpa",
  "svc",
  // Kubernetes short forms: `kubernetes.default` reaches the API server through a pod's search list.
  "default",
];

/** A DNS label as fetch can resolve it: letters, digits, '-' and '_' (SRV-style names), 1-63 long. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (m === null) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function isPrivateIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && c === 0) || // IETF protocol assignments: DS-Lite's AFTR and B4, NAT64 discovery
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast and reserved
  );
}

function isPrivateIpv6(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "::" || h === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped?.[1] !== undefined) {
    const octets = ipv4Octets(mapped[1]);
    return octets === null || isPrivateIpv4(octets);
  }
  // URL() normalises ::ffff:a.b.c.d to ::ffff:XXXX:XXXX; treat every mapped address as private.
  if (h.startsWith("::ffff:")) return true;
  // Forms that embed an IPv4 address and can reach it: IPv4-compatible (::a.b.c.d, which
  // URL() writes as ::XXXX:XXXX), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16) and
  // Teredo (2001::/32, the client's address inverted in the last 32 bits; URL() writes its
  // zero second group as `2001:0:` or, followed by more zeros, `2001::`).
  if (/^::[0-9a-f]{1,4}(:[0-9a-f]{1,4})?$/.test(h)) return true;
  if (h.startsWith("64:ff9b:") || h.startsWith("2002:") || /^2001:0?:/.test(h)) return true;
  // Unique-local fc00::/7, link-local fe80::/10, deprecated site-local fec0::/10, multicast ff00::/8.
  return /^f[cd]/.test(h) || /^fe[89a-f]/.test(h) || h.startsWith("ff");
}

/**
 * The host as the guard judges it: lowercase, trailing dots gone, and re-parsed
 * so `127.0.0.1..` and `0x7f.1.` come out as `127.0.0.1`. Null when what is left
 * is not a usable hostname (empty labels as in `a..b`, characters DNS cannot carry).
 */
export function normaliseHost(hostname: string): string | null {
  const lower = hostname.toLowerCase();
  if (lower.startsWith("[")) return lower;
  const stripped = lower.replace(/\.+$/, "");
  if (stripped === "") return null;
  let reparsed: string;
  try {
    reparsed = new URL(`http://${stripped}/`).hostname;
  } catch {
    return null;
  }
  if (ipv4Octets(reparsed) !== null) return reparsed;
  return reparsed.split(".").every((label) => LABEL.test(label)) ? reparsed : null;
}

function isLocalName(name: string): boolean {
  if (!name.includes(".")) return true;
  return LOCAL_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

export type OriginCheck = { ok: true; url: URL } | { ok: false; reason: string };

export function checkOrigin(raw: string, allowPrivate: boolean): OriginCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "url is not a valid absolute URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "url must use http or https" };
  if (url.username !== "" || url.password !== "") return { ok: false, reason: "url must not contain credentials" };
  if (url.search !== "" || url.hash !== "") return { ok: false, reason: "url must not contain a query or fragment" };
  const host = normaliseHost(url.hostname);
  if (host === null) return { ok: false, reason: `${url.hostname} is not a valid hostname` };
  if (allowPrivate) return { ok: true, url };
  if (host.startsWith("[")) {
    if (isPrivateIpv6(host)) return { ok: false, reason: `${url.hostname} is a loopback or private address` };
    return { ok: true, url };
  }
  const octets = ipv4Octets(host);
  if (octets !== null) {
    if (isPrivateIpv4(octets)) return { ok: false, reason: `${url.hostname} is a loopback or private address` };
    return { ok: true, url };
  }
  if (isLocalName(host)) return { ok: false, reason: `${url.hostname} is a local name` };
  return { ok: true, url };
}

/**
 * The canonical form of an origin URL, used for idempotent registration:
 * lowercase scheme and host, default port dropped, no trailing slash.
 */
export function canonicalOrigin(url: URL): string {
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}`;
}
