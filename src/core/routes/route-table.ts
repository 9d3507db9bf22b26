import { asRequestPath } from "../schema/path-prefix.js";
import { canonicalPath } from "./canonical-path.js";

/**
 * The data plane's route table: (host?, path prefix) -> service.
 *
 * Matching rules, most specific first:
 *  1. rules that name the request's exact Host, longest path prefix wins;
 *  2. rules on a wildcard host (`*.example.com`), nearest parent domain first;
 *  3. host-less rules (pathPrefixes only), longest path prefix wins.
 * A prefix matches on segment boundaries: `/api` matches `/api` and `/api/x`,
 * never `/apix`.
 *
 * Lookup cost is one Map probe per path segment within the table's longest
 * prefix (plus one per domain label within its longest wildcard domain),
 * independent of how many routes exist and of how long the request's path or
 * Host is. A linear scan of compiled patterns, which is how general-purpose
 * routers (itty-router among them) match, costs O(routes) and misses the 5 µs
 * budget at 10k routes; see docs/architecture.md.
 */

export interface ServiceRoutes {
  service: string;
  hosts: readonly string[];
  pathPrefixes: readonly string[];
  stripPrefix: boolean;
}

export interface RouteMatch {
  service: string;
  /** The normalised prefix that matched ("/" for host-only rules). */
  prefix: string;
  stripPrefix: boolean;
}

export interface RouteConflict {
  host: string | null;
  prefix: string;
  services: [string, string];
}

/** One host's (or the host-less) rules, and the length of its longest prefix, which bounds a lookup. */
interface PrefixIndex {
  readonly byPrefix: Map<string, RouteMatch>;
  longest: number;
}

function newIndex(): PrefixIndex {
  return { byPrefix: new Map(), longest: 1 };
}

function trimTrailingSlashes(path: string): string {
  let p = path;
  while (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p === "" ? "/" : p;
}

/** RFC 3986 path characters the URL parser leaves as they are, when no segment is a dot segment. */
const PARSED_AS_WRITTEN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const MAY_BE_DOT_SEGMENT = /\/\.|%2e/i;
const DOUBLE_DOT_SEGMENT = /\/(?:\.|%2e){2}(?:\/|$)/i;

/**
 * A rule's prefix in the form a request path takes: the router matches
 * `url.pathname`, which the URL parser has percent-encoded (non-ASCII, `"`,
 * `<`, `>`, `` ` ``, `{`, `}`, controls), with `\` read as `/` and dot
 * segments resolved. A rule kept as written (`/café`) could never equal such a
 * path (`/caf%C3%A9`), so it matched no request at all; and the claims would
 * give the two spellings of one route to two services. Trailing slashes go.
 * Prefixes start with "/" (the service schema), so the authority stays the
 * placeholder's even for `//x`. A `..` segment is left as written, matching
 * nothing as it always has: resolved, `/x/..` would become `/`, and a rule no
 * request ever reached would claim every path.
 */
export function normalizePrefix(prefix: string): string {
  if (DOUBLE_DOT_SEGMENT.test(prefix)) return trimTrailingSlashes(prefix);
  const reparse = prefix.startsWith("/") && (!PARSED_AS_WRITTEN.test(prefix) || MAY_BE_DOT_SEGMENT.test(prefix));
  const parsed = reparse ? asRequestPath(prefix) : prefix;
  // Escapes as match() compares them (canonical-path.ts): `/%61dmin` is the rule `/admin`.
  return trimTrailingSlashes(canonicalPath(parsed));
}

function lookupPrefix(index: PrefixIndex | undefined, path: string): RouteMatch | undefined {
  if (index === undefined) return undefined;
  let p = path.length > 1 && path.endsWith("/") ? trimTrailingSlashes(path) : path;
  // No rule is longer than `longest`, so the walk starts at the last segment boundary within it. Each
  // probe hashes its whole key: walking down from the full path cost the sum of every prefix's length,
  // about 64 million characters (over 100 ms) for a 16 KB path of 8,000 segments, which any client can send.
  if (p.length > index.longest) {
    const cut = p.lastIndexOf("/", index.longest);
    p = cut <= 0 ? "/" : p.slice(0, cut);
  }
  for (;;) {
    const hit = index.byPrefix.get(p);
    if (hit !== undefined) return hit;
    if (p === "/") return undefined;
    const cut = p.lastIndexOf("/");
    p = cut <= 0 ? "/" : p.slice(0, cut);
  }
}

export class RouteTable {
  readonly #byHost = new Map<string, PrefixIndex>();
  readonly #wildcard = new Map<string, PrefixIndex>();
  readonly #anyHost: PrefixIndex = newIndex();
  /**
   * The longest exact host and wildcard parent domain: a Host no rule can name
   * is not probed. Each probe hashes its whole key, and the URL parser takes a
   * Host of any length: one of 8,000 labels under a table with a wildcard cost
   * 64 million hashed characters (243 ms in workerd) as one probe per label.
   */
  #longestHost = 0;
  #longestWildcard = 0;
  readonly conflicts: RouteConflict[] = [];
  readonly size: number;

  constructor(services: readonly ServiceRoutes[]) {
    let size = 0;
    for (const svc of services) {
      const prefixes = svc.pathPrefixes.length > 0 ? svc.pathPrefixes.map(normalizePrefix) : ["/"];
      const hosts: (string | null)[] = svc.hosts.length > 0 ? svc.hosts.map((h) => h.toLowerCase()) : [null];
      for (const host of hosts) {
        for (const prefix of prefixes) {
          const index = this.#indexFor(host);
          const existing = index.byPrefix.get(prefix);
          if (existing !== undefined && existing.service !== svc.service) {
            this.conflicts.push({ host, prefix, services: [existing.service, svc.service] });
            continue;
          }
          index.byPrefix.set(prefix, { service: svc.service, prefix, stripPrefix: svc.stripPrefix });
          index.longest = Math.max(index.longest, prefix.length);
          size++;
        }
      }
    }
    this.size = size;
  }

  #indexFor(host: string | null): PrefixIndex {
    if (host === null) return this.#anyHost;
    const wildcard = host.startsWith("*.");
    const map = wildcard ? this.#wildcard : this.#byHost;
    const key = wildcard ? host.slice(2) : host;
    if (wildcard) this.#longestWildcard = Math.max(this.#longestWildcard, key.length);
    else this.#longestHost = Math.max(this.#longestHost, key.length);
    let index = map.get(key);
    if (index === undefined) {
      index = newIndex();
      map.set(key, index);
    }
    return index;
  }

  /**
   * `host` is the Host header without port, any case; a fully qualified name's one trailing dot is the same host.
   * `path` as the URL parser gives it; its percent-encodings are compared normalized (canonical-path.ts).
   */
  match(host: string, requestPath: string): RouteMatch | undefined {
    const path = canonicalPath(requestPath);
    const lower = host.toLowerCase();
    const h = lower.charCodeAt(lower.length - 1) === 46 /* . */ ? lower.slice(0, -1) : lower;
    const exact = h.length <= this.#longestHost ? lookupPrefix(this.#byHost.get(h), path) : undefined;
    if (exact !== undefined) return exact;
    if (this.#wildcard.size > 0) {
      // Nearest parent first, starting at the longest parent domain a wildcard names.
      let dot = h.indexOf(".", Math.max(0, h.length - this.#longestWildcard - 1));
      while (dot !== -1) {
        const hit = lookupPrefix(this.#wildcard.get(h.slice(dot + 1)), path);
        if (hit !== undefined) return hit;
        dot = h.indexOf(".", dot + 1);
      }
    }
    return lookupPrefix(this.#anyHost, path);
  }
}

/**
 * The path to send upstream: the request path as it came, or, when the prefix
 * is stripped, what follows the prefix in the path the prefix matched, with
 * its percent-encodings normalized (canonical-path.ts; as nginx sends the
 * normalized URI when it replaces a location's prefix).
 */
export function upstreamPath(path: string, match: RouteMatch): string {
  if (!match.stripPrefix || match.prefix === "/") return path;
  const rest = canonicalPath(path).slice(match.prefix.length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/**
 * The query to send upstream, as the client sent it. `url.search` is "" both
 * for no query and for an empty one ("/a?"), which RFC 3986 §6.2.3 keeps
 * apart, so the "?" of an empty query is put back. (A fragment never reaches
 * a server, so a href ending in "?" has an empty query.)
 */
export function upstreamQuery(url: URL): string {
  return url.search !== "" || !url.href.endsWith("?") ? url.search : "?";
}

/** Strips the port from a Host header value, keeping IPv6 brackets intact. */
export function hostWithoutPort(hostHeader: string): string {
  if (hostHeader.startsWith("[")) {
    const end = hostHeader.indexOf("]");
    return end === -1 ? hostHeader : hostHeader.slice(0, end + 1);
  }
  const colon = hostHeader.indexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}
