import { hashString } from "../balance/hash/hash.js";
import { clientNetwork } from "../net/client-network.js";
import { canonicalPath } from "../routes/canonical-path.js";
import { normalizePrefix } from "../routes/route-table.js";
import type { RateLimitConfig } from "../schema/rate-limits.js";
import type { RateRule } from "./gcra.js";

/**
 * A service's `rateLimits`, prepared once per route-table load so a request
 * pays only what its limits need: the match test is a prefix compare and a
 * set probe, the key a header or claim read, and the 429's RateLimit-Policy
 * value is built here, not per refusal. Pure: no I/O, no clock.
 */
export interface CompiledLimit {
  readonly name: string;
  readonly rule: RateRule;
  readonly global: boolean;
  /** `service \0 name \0`: the isolate store's key prefix, so limits never share a bucket. */
  readonly prefix: string;
  readonly key: RateLimitConfig["key"];
  readonly pathPrefix: string | null;
  readonly methods: ReadonlySet<string> | null;
  /** The RateLimit-Policy field value (draft-ietf-httpapi-ratelimit-headers-09/-10). */
  readonly policy: string;
}

export interface CompiledLimits {
  /** Checked first: no I/O. */
  readonly isolate: readonly CompiledLimit[];
  /** Then these, each a Durable Object call unless the deny cache answers. */
  readonly global: readonly CompiledLimit[];
}

/**
 * The draft's policy is a quota `q` per window of `w` seconds, both integers.
 * A token bucket's long-run quota is `ratePerSecond` per second, so the window
 * is the shortest whole number of seconds holding a whole number of requests
 * (5/s → q=5;w=1, 0.5/s → q=1;w=2). A rate no window up to 1000 s holds a
 * whole number of (0.0015/s) is rounded down over 1000 s: a quota is a
 * promise, and a client pacing itself to one above the rate would be refused.
 * The burst is not part of the draft's vocabulary; docs/api.md says so.
 */
export function policyWindow(ratePerSecond: number): { q: number; w: number } {
  for (let w = 1; w <= 1000; w++) {
    const q = ratePerSecond * w;
    if (Math.abs(q - Math.round(q)) < 1e-9 && Math.round(q) >= 1) return { q: Math.round(q), w };
  }
  // The schema's least rate, 0.001/s, is q=1 here: rounding down never reaches 0.
  return { q: Math.max(1, Math.floor(ratePerSecond * 1000)), w: 1000 };
}

export function compileLimit(service: string, l: RateLimitConfig): CompiledLimit {
  const { q, w } = policyWindow(l.ratePerSecond);
  const prefix = l.match?.pathPrefix;
  const methods = l.match?.methods;
  return {
    name: l.name,
    rule: { ratePerSecond: l.ratePerSecond, burst: l.burst },
    global: l.scope === "global",
    prefix: `${service}\u0000${l.name}\u0000`,
    key: l.key,
    // In the form routes compare (core/routes): as a request path is parsed, escapes normalized.
    pathPrefix: prefix === undefined ? null : nullIfRoot(normalizePrefix(prefix)),
    methods: methods === undefined ? null : new Set(methods),
    policy: `"${l.name}";q=${q};w=${w}`,
  };
}

export function compileRateLimits(service: string, limits: readonly RateLimitConfig[]): CompiledLimits {
  const compiled = limits.map((l) => compileLimit(service, l));
  return { isolate: compiled.filter((l) => !l.global), global: compiled.filter((l) => l.global) };
}

/** The path of a request URL string, without parsing it as a URL (the edge already holds the string). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

function nullIfRoot(prefix: string): string | null {
  return prefix === "/" ? null : prefix;
}

/**
 * Whether the limit counts this request: its methods, and its path prefix on segment boundaries as routes match,
 * escapes normalized (core/routes/canonical-path.ts): `/%6Cogin` is `/login` to the origin, so it is to the limit.
 */
export function limitApplies(limit: CompiledLimit, method: string, url: string): boolean {
  if (limit.methods !== null && !limit.methods.has(method)) return false;
  const prefix = limit.pathPrefix;
  if (prefix === null) return true;
  const path = canonicalPath(pathOf(url));
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* "/" */);
}

/** Key values longer than this are hashed, so one client cannot fill isolate memory with 16 KB header values. */
export const MAX_KEY_CHARS = 64;

function bounded(value: string): string {
  if (value.length <= MAX_KEY_CHARS) return value;
  // Two 32-bit hashes and the length: 64 bits a chance collision between real clients will not hit.
  return `#${hashString(value).toString(36)}.${hashString(value, 0x9e3779b9).toString(36)}.${value.length}`;
}

export interface KeySource {
  readonly headers: Headers;
  readonly claims: Record<string, unknown> | null;
  readonly url: string;
}

function claimValue(claims: Record<string, unknown> | null, name: string): string | null {
  if (claims === null || !Object.hasOwn(claims, name)) return null;
  const v = claims[name];
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
}

function queryValue(url: string, name: string): string | null {
  return url.includes("?") ? new URL(url).searchParams.get(name) : null;
}

/**
 * The request's key for a limit, within that limit. A value is `=value`; a
 * request without the header, claim or query parameter is keyed by its client
 * IP (`@ip`; an IPv6 client by its /64, net/client-network.ts), so leaving the
 * key out does not escape the limit, and header-less clients are not all lumped
 * into one bucket. A missing CF-Connecting-IP
 * (never on Cloudflare; possible in local tests) is `@`.
 */
export function limitKey(limit: CompiledLimit, source: KeySource): string {
  const key = limit.key;
  if (key === "service") return "";
  let value: string | null = null;
  if (key !== "client_ip") {
    if ("header" in key) value = source.headers.get(key.header);
    else if ("jwtClaim" in key) value = claimValue(source.claims, key.jwtClaim);
    else value = queryValue(source.url, key.query);
  }
  if (value !== null && value !== "") return `=${bounded(value)}`;
  return `@${bounded(clientNetwork(source.headers.get("cf-connecting-ip") ?? ""))}`;
}

/** Whole seconds to wait, at least 1: Retry-After and the draft's `t` are integers, and 0 would invite a retry that is refused again. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The 429's headers: Retry-After, and the policy and its current state in
 * the structured-field form of draft-ietf-httpapi-ratelimit-headers-09/-10
 * (`RateLimit-Policy: "name";q=5;w=1`, `RateLimit: "name";r=0;t=1`).
 */
export function refusalHeaders(limit: CompiledLimit, retryAfterMs: number): Record<string, string> {
  const seconds = retryAfterSeconds(retryAfterMs);
  return {
    "retry-after": String(seconds),
    "ratelimit-policy": limit.policy,
    ratelimit: `"${limit.name}";r=0;t=${seconds}`,
  };
}
