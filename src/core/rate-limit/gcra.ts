import { LruMap } from "./lru-map.js";

/**
 * GCRA, the generic cell rate algorithm: the token bucket of token-bucket.ts
 * kept per key as its theoretical arrival time (TAT). A bucket of
 * `burst` tokens refilled at `ratePerSecond` admits a request at `now` exactly
 * when GCRA does, with TAT = now + (burst − tokens) × interval; so the state
 * is one time, refilled lazily by comparing it with `now` (no timers).
 * Pure: time comes in as `now` (ms). Used by the edge's isolate-scope limits
 * and by the RateLimiter Durable Object (src/limiter/), so both count alike.
 */
export interface RateRule {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface GcraDecision {
  readonly allowed: boolean;
  /** Whole requests still admissible right now, after this one. */
  readonly remaining: number;
  /**
   * Allowed: ms until the next request would be admitted, 0 while any remain
   * (the deny cache uses it when `remaining` is 0). Refused: ms until one is.
   */
  readonly retryAfterMs: number;
  /** The key's new TAT, to store (unchanged when refused). */
  readonly tat: number;
}

/** The share of an interval a float sum of intervals may be off by and still count as exact (see gcraTake). */
const INTERVAL_SLACK = 1e-6;

/**
 * One request against a key whose stored TAT is `tat` (undefined: never seen,
 * i.e. a full bucket). A TAT further ahead than a whole burst (the clock went
 * back) is read as an empty bucket, never an emptier one, so a clock step
 * cannot lock a key out for longer than a burst takes to refill.
 */
export function gcraTake(tat: number | undefined, rule: RateRule, now: number): GcraDecision {
  const interval = 1000 / rule.ratePerSecond;
  const window = rule.burst * interval;
  let base = tat === undefined || tat < now ? now : tat;
  if (base - now > window) base = now + window;
  const next = base + interval;
  // Admitted when the bucket holds at least one token: next − now ≤ burst × interval. A TAT that is a
  // sum of intervals (0.001 added ten times is 0.010000000000000002) can land a hair past the burst's
  // end for the request that takes its last token; within a millionth of an interval counts as on it.
  const allowAt = next - window;
  const early = (allowAt - now) / interval;
  if (early > INTERVAL_SLACK) return { allowed: false, remaining: 0, retryAfterMs: allowAt - now, tat: base };
  const remaining = Math.floor(INTERVAL_SLACK - early);
  return { allowed: true, remaining, retryAfterMs: remaining > 0 ? 0 : Math.max(0, allowAt + interval - now), tat: next };
}

/**
 * Keys kept at most per store. A TAT in the past is the same as no entry (a
 * full bucket), so dropping the least recently used key only forgets a
 * caller that has been quiet, unless more than this many distinct keys came
 * since; it bounds memory when callers present many distinct keys.
 */
export const MAX_GCRA_KEYS = 10_000;

/**
 * A key's TAT, stored as `at + ahead`: `at` the clock reading of the take
 * that wrote it, `ahead` how far the TAT was past it. Not as one absolute
 * time: near 1.7e12 ms a float is spaced 2^-12 ms apart, which a 1 µs
 * interval (1,000,000/s, the schema's top isolate rate) cannot be added to
 * without rounding by up to an eighth of itself, on every take; at that rate
 * a burst of 1,000 admitted 1,024 at once. `ahead` is at most a burst's
 * worth of intervals, so adding one to it is exact to far below a request.
 */
interface StoredTat {
  readonly at: number;
  readonly ahead: number;
}

/** TATs by key in memory, least recently used first (Map order, refreshed on use). */
export class GcraStore {
  readonly #tats: LruMap<StoredTat>;

  constructor(maxKeys = MAX_GCRA_KEYS) {
    this.#tats = new LruMap(maxKeys);
  }

  get size(): number {
    return this.#tats.size;
  }

  take(key: string, rule: RateRule, now: number): GcraDecision {
    const stored = this.#tats.get(key);
    // GCRA reads only TAT − now, so it is run with now at 0 on the TAT relative to now: small numbers
    // throughout. Two clock readings subtract exactly (they are within a factor of 2 of each other).
    const ahead = stored === undefined ? undefined : stored.at - now + stored.ahead;
    const decision = gcraTake(ahead, rule, 0);
    // A refusal changes nothing, unless it pulled back a TAT the clock had run behind.
    if (decision.allowed || decision.tat !== ahead) {
      this.#tats.set(key, { at: now, ahead: decision.tat });
    }
    return { allowed: decision.allowed, remaining: decision.remaining, retryAfterMs: decision.retryAfterMs, tat: now + decision.tat };
  }
}
