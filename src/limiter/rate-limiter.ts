import { DurableObject } from "cloudflare:workers";
import { GcraStore, type RateRule } from "../core/rate-limit/gcra.js";
import { MAX_BURST, MAX_GLOBAL_RATE_PER_SECOND, MIN_RATE_PER_SECOND } from "../core/schema/rate-limits.js";

/** What one `take` answers: the edge admits or refuses on it and fills its deny cache from `retryAfterMs`. */
export interface LimiterAnswer {
  allowed: boolean;
  remaining: number;
  /** Refused: ms until a request would be admitted. Admitted with remaining 0: ms until the next one would be. */
  retryAfterMs: number;
}

export interface LimiterStats {
  /** `take` calls answered since the object started (the RPCs the edge made). */
  takes: number;
  refused: number;
  keys: number;
}

/**
 * Keys one object keeps. Each limit's keys are spread over GLOBAL_SHARDS
 * objects (src/edge/admit/global-limit.ts), so a limit holds up to
 * 16 × 50,000 keys before the least recently used is forgotten (and starts
 * again with a full bucket).
 */
const MAX_KEYS_PER_OBJECT = 50_000;
const MAX_KEY_LENGTH = 256;

function validRule(rule: RateRule): boolean {
  const { ratePerSecond, burst } = rule;
  return (
    Number.isFinite(ratePerSecond) && ratePerSecond >= MIN_RATE_PER_SECOND && ratePerSecond <= MAX_GLOBAL_RATE_PER_SECOND &&
    Number.isInteger(burst) && burst >= 1 && burst <= MAX_BURST
  );
}

/**
 * The global-scope rate limiter: one object per (service, limit, shard),
 * named by the edge, deciding every admitted request of the keys hashed onto
 * it, so a global limit is exact across isolates and locations.
 *
 * Storage: none. The TATs live in memory (GcraStore): writing one per
 * admitted request would bill a row write each and hold every answer behind
 * the output gate. The cost of that choice is bounded and documented
 * (docs/storage.md): when the object restarts (a deploy, eviction after it
 * sat idle) its keys start again with a full bucket, i.e. at most one extra
 * burst per key per restart. SQLite-backed anyway (`new_sqlite_classes`), as
 * every new class should be.
 */
export class RateLimiter extends DurableObject<Env> {
  readonly #store = new GcraStore(MAX_KEYS_PER_OBJECT);
  #takes = 0;
  #refused = 0;

  /**
   * One request against `key` under `rule`. `now` is for tests only: the
   * object's own clock decides, so isolates in other locations (other clocks)
   * count against one timeline.
   */
  take(key: string, rule: RateRule, now?: number): LimiterAnswer {
    if (typeof key !== "string" || key.length > MAX_KEY_LENGTH || !validRule(rule)) {
      throw new TypeError("take: a key of at most 256 characters and a valid global rule are required");
    }
    this.#takes++;
    const decision = this.#store.take(key, rule, now ?? Date.now());
    if (!decision.allowed) this.#refused++;
    return { allowed: decision.allowed, remaining: decision.remaining, retryAfterMs: decision.retryAfterMs };
  }

  stats(): LimiterStats {
    return { takes: this.#takes, refused: this.#refused, keys: this.#store.size };
  }
}
