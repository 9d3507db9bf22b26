import { LruMap } from "./lru-map.js";

/**
 * Token buckets kept in isolate memory, pure: time comes in as `now` (ms).
 * A bucket holds up to `burst` tokens and gains `perSecond` a second; a
 * request takes one. Limits are per isolate: Cloudflare spreads a client's
 * requests over isolates and locations, so these bound what one isolate
 * spends on one caller, not a global quota.
 */
export interface BucketLimit {
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Entries kept at most. A bucket that has refilled is the same as no bucket,
 * so dropping the least recently used one (Map order, refreshed on use) only
 * forgets a caller that has been quiet; it bounds memory when callers present
 * many distinct tokens.
 */
export const MAX_BUCKETS = 10_000;

/**
 * Token sums are floats: 0.015 + 1.98 + 0.005 tokens can come out a hair
 * under 1 for a request that arrives exactly when its token is due, which
 * would refuse it with Retry-After 1 ms. Anything this close to a whole token
 * counts as one (found by the GCRA equivalence property, gcra.test.ts).
 */
const TOKEN_EPSILON = 1e-9;

export class RateLimiter {
  readonly #buckets: LruMap<Bucket>;

  constructor(maxBuckets = MAX_BUCKETS) {
    this.#buckets = new LruMap(maxBuckets);
  }

  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, limit: BucketLimit, now: number): Bucket {
    const b = this.#buckets.get(key);
    if (b === undefined) return { tokens: limit.burst, at: now };
    // A clock that went back refills nothing, and refilling counts from the new time on (holding
    // the old one would freeze the bucket until the clock caught up).
    const elapsed = Math.max(0, now - b.at);
    return { tokens: Math.min(limit.burst, b.tokens + (elapsed * limit.perSecond) / 1000), at: now };
  }

  /** Takes one token, or says how long until one is there. */
  take(key: string, limit: BucketLimit, now: number): TakeResult {
    const b = this.#refilled(key, limit, now);
    const ok = b.tokens >= 1 - TOKEN_EPSILON;
    if (ok) b.tokens = Math.max(0, b.tokens - 1);
    this.#buckets.set(key, b);
    return ok ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / limit.perSecond) };
  }

  /** Whether a take would succeed, without taking. */
  peek(key: string, limit: BucketLimit, now: number): TakeResult {
    const b = this.#refilled(key, limit, now);
    return b.tokens >= 1 - TOKEN_EPSILON ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / limit.perSecond) };
  }

}
