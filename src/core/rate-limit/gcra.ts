import { LruMap } from "./lru-map.js";

/**
 * GCRA, the generic cell rate algorithm: the token bucket of token-bucket.ts
 * kept as one number per key, its theoretical arrival time (TAT). A bucket of
 * `burst` tokens refilled at `ratePerSecond` admits a request at `now` exactly
 * when GCRA does, with TAT = now + (burst − tokens) × interval; so the state
 * is a single float, refilled lazily by comparing it with `now` (no timers).
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
  // Admitted when the bucket holds at least one token: next − now ≤ burst × interval.
  const allowAt = next - window;
  if (now < allowAt) return { allowed: false, remaining: 0, retryAfterMs: allowAt - now, tat: base };
  const remaining = Math.floor((now - allowAt) / interval);
  return { allowed: true, remaining, retryAfterMs: remaining > 0 ? 0 : Math.max(0, allowAt + interval - now), tat: next };
}

/**
 * Keys kept at most per store. A TAT in the past is the same as no entry (a
 * full bucket), so dropping the least recently used key only forgets a
 * caller that has been quiet, unless more than this many distinct keys came
 * since; it bounds memory when callers present many distinct keys.
 */
export const MAX_GCRA_KEYS = 10_000;

/** TATs by key in memory, least recently used first (Map order, refreshed on use). */
export class GcraStore {
  readonly #tats: LruMap<number>;

  constructor(maxKeys = MAX_GCRA_KEYS) {
    this.#tats = new LruMap(maxKeys);
  }

  get size(): number {
    return this.#tats.size;
  }

  take(key: string, rule: RateRule, now: number): GcraDecision {
    const stored = this.#tats.get(key);
    const decision = gcraTake(stored, rule, now);
    // A refusal changes nothing, unless it pulled back a TAT the clock had run behind.
    if (decision.allowed || decision.tat !== stored) {
      this.#tats.set(key, decision.tat);
    }
    return decision;
  }
}
