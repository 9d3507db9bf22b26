import { boundedText } from "../bounded-body.js";
import { waitAtMost } from "../bounded-wait.js";
import { parseJsonObject } from "../encoding.js";
import { SecurityError } from "../errors.js";
import { importVerifyingKey, type JwtAlg, type PublicJwk, selectKey, type VerifyingKey } from "./jwk.js";

/**
 * Where verifying keys come from: an inline JWKS from the service config, or a
 * JWKS URL fetched and cached per isolate. A token naming an unknown `kid`
 * triggers a refetch (keys rotate), but at most once per `minRefreshIntervalMs`,
 * so a flood of tokens with random kids cannot make the mesh hammer the server.
 */

export interface KeySource {
  /** The imported key for a token's alg and kid, or undefined if none matches. */
  keyFor(alg: JwtAlg, kid: unknown): Promise<VerifyingKey | undefined>;
}

// Import once per JWK object; a refetched JWKS brings new objects, and the old ones are collected.
const imported = new WeakMap<PublicJwk, Promise<VerifyingKey | undefined>>();

/**
 * A key WebCrypto refuses (a point off the curve, a truncated modulus: the
 * schema and parseJwks check shapes, not maths) verifies nothing: the token is
 * refused as if no key matched (401), never a 500 for every token naming it.
 * The refusal is remembered with the JWK object, so it is logged once per key set.
 */
function importOnce(jwk: PublicJwk, alg: JwtAlg): Promise<VerifyingKey | undefined> {
  let key = imported.get(jwk);
  if (key === undefined) {
    key = importVerifyingKey(jwk, alg).catch((err: unknown) => {
      console.error(JSON.stringify({ event: "jwk_import_failed", kid: jwk.kid ?? null, kty: jwk.kty, message: String(err) }));
      return undefined;
    });
    imported.set(jwk, key);
  }
  return key;
}

const MAX_JWKS_BYTES = 65_536;
/**
 * How long a request waits for a refetch after the TTL when it already has
 * keys: a fast server's set is seen by the request that asked, a slow or
 * black-holed one does not hold every request for its whole timeout (the
 * cached keys serve meanwhile, as they do when the refetch fails).
 */
const STALE_WAIT_MS = 500;
const NO_KEYS_RETRY_MS = 1_000;

function unavailable(): SecurityError {
  return new SecurityError(503, "jwks_unavailable", "the keys to check the token could not be fetched");
}
const MAX_KEYS = 100;

/** Parses a JWK Set (RFC 7517 §5); keys without a string `kty` are skipped. Pure. */
export function parseJwks(text: string): PublicJwk[] | undefined {
  if (text.length > MAX_JWKS_BYTES) return undefined;
  const body = parseJsonObject(text);
  const keys = body?.["keys"];
  if (!Array.isArray(keys) || keys.length > MAX_KEYS) return undefined;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const out: PublicJwk[] = [];
  for (const k of keys) {
    if (typeof k !== "object" || k === null) continue;
    const r = k as Record<string, unknown>;
    const kty = str(r["kty"]);
    if (kty === undefined) continue;
    out.push({ kty, kid: str(r["kid"]), alg: str(r["alg"]), use: str(r["use"]), n: str(r["n"]), e: str(r["e"]), crv: str(r["crv"]), x: str(r["x"]), y: str(r["y"]) });
  }
  return out;
}

export class StaticJwks implements KeySource {
  readonly #keys: readonly PublicJwk[];
  constructor(keys: readonly PublicJwk[]) {
    this.#keys = keys;
  }
  async keyFor(alg: JwtAlg, kid: unknown): Promise<VerifyingKey | undefined> {
    const jwk = selectKey(this.#keys, alg, kid);
    return jwk === undefined ? undefined : importOnce(jwk, alg);
  }
}

export interface RemoteJwksOptions {
  /** Clock, Unix ms. */
  now?: () => number;
  /** How long a fetched JWKS is used before it is fetched again. */
  ttlMs?: number;
  /** Least time between two fetches caused by unknown kids. */
  minRefreshIntervalMs?: number;
  requestTimeoutMs?: number;
}

export class RemoteJwks implements KeySource {
  readonly #url: string;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #minRefreshIntervalMs: number;
  readonly #requestTimeoutMs: number;
  #keys: PublicJwk[] | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<PublicJwk[]> | undefined;
  #inflightStartedAt = 0;

  constructor(url: string, options: RemoteJwksOptions = {}) {
    this.#url = url;
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? 300_000;
    this.#minRefreshIntervalMs = options.minRefreshIntervalMs ?? 30_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  }

  async keyFor(alg: JwtAlg, kid: unknown): Promise<VerifyingKey | undefined> {
    const now = this.#now();
    const sinceAttempt = now - this.#lastAttemptAt;
    let keys = this.#keys;
    if (keys === undefined) {
      // Nothing to serve yet: retry a failed first fetch, but not on every request.
      if (sinceAttempt < NO_KEYS_RETRY_MS && this.#inflight === undefined) throw unavailable();
      keys = await this.#load(undefined);
    } else if (now >= this.#fetchedAt + this.#ttlMs && sinceAttempt >= this.#minRefreshIntervalMs) {
      // Expired: refetch, yet while the server fails keep serving the old set, fetching at most once per interval.
      keys = await this.#load(keys, STALE_WAIT_MS);
    }
    let jwk = selectKey(keys, alg, kid);
    if (jwk === undefined && typeof kid === "string" && now >= this.#lastAttemptAt + this.#minRefreshIntervalMs) {
      jwk = selectKey(await this.#load(keys), alg, kid);
    }
    return jwk === undefined ? undefined : importOnce(jwk, alg);
  }

  /**
   * Fetches (or joins a fetch in flight); on failure, or after `waitMs` without an answer,
   * keeps serving `stale` if there is one. A fetch not waited for goes on and stores its set.
   */
  async #load(stale: PublicJwk[] | undefined, waitMs?: number): Promise<PublicJwk[]> {
    const bound = this.#requestTimeoutMs + 1_000;
    // The fetch carries its own timeout, so one older than that was cancelled with the request that started it.
    if (this.#inflight === undefined || this.#now() - this.#inflightStartedAt > bound) {
      const promise: Promise<PublicJwk[]> = this.#fetch().finally(() => {
        if (this.#inflight === promise) this.#inflight = undefined;
      });
      this.#inflight = promise;
      this.#inflightStartedAt = this.#now();
    }
    const fresh = await waitAtMost(
      this.#inflight.catch(() => undefined),
      waitMs ?? bound,
    );
    if (fresh !== undefined) return fresh;
    if (stale !== undefined) return stale;
    throw unavailable();
  }

  async #fetch(): Promise<PublicJwk[]> {
    this.#lastAttemptAt = this.#now();
    const res = await fetch(this.#url, {
      headers: { accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(this.#requestTimeoutMs),
    });
    // Read at most the cap: a hostile server's endless or 10 MB body is cut off there, not buffered.
    const text = res.ok ? await boundedText(res, MAX_JWKS_BYTES) : undefined;
    if (!res.ok) await res.body?.cancel();
    const keys = text === undefined ? undefined : parseJwks(text);
    if (keys === undefined) throw new Error(`JWKS fetch answered ${res.status} or an invalid key set`);
    this.#keys = keys;
    this.#fetchedAt = this.#now();
    return keys;
  }
}

const MAX_REMOTE = 128;
const remotes = new Map<string, RemoteJwks>();

/**
 * The isolate's cache for a JWKS URL and lifetime, created on first use.
 * Keyed by both: services that name one URL with different `jwksCacheSeconds`
 * (or a PUT that changes it) each get the lifetime they asked for, at the
 * price of one fetch per lifetime instead of one per URL.
 */
export function remoteJwks(url: string, options: RemoteJwksOptions = {}): RemoteJwks {
  const key = `${options.ttlMs ?? ""} ${url}`;
  let source = remotes.get(key);
  if (source === undefined) {
    if (remotes.size >= MAX_REMOTE) remotes.clear();
    source = new RemoteJwks(url, options);
    remotes.set(key, source);
  }
  return source;
}

/** The key source a service's `auth.jwt` config names (inline keys or the shared cache for its URL). */
export function keySourceFor(config: { jwks?: { keys: readonly PublicJwk[] } | undefined; jwksUrl?: string | undefined; jwksCacheSeconds: number }): KeySource {
  if (config.jwks !== undefined) return new StaticJwks(config.jwks.keys);
  if (config.jwksUrl !== undefined) return remoteJwks(config.jwksUrl, { ttlMs: config.jwksCacheSeconds * 1000 });
  throw new Error("auth.jwt has neither jwks nor jwksUrl (the schema requires one)");
}
