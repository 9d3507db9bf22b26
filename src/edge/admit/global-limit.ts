import { hashString } from "../../core/balance/hash/hash.js";
import type { CompiledLimit } from "../../core/rate-limit/compiled-limits.js";
import { DenyCache } from "../../core/rate-limit/deny-cache.js";
import type { LimiterAnswer, RateLimiter } from "../../limiter/rate-limiter.js";
import { withTimeout } from "../cache/with-timeout.js";

/**
 * Global-scope limits: each key is decided by one RateLimiter Durable Object,
 * so the count is exact across isolates and locations (docs/architecture.md,
 * "Rate limits").
 *
 * Shards: a limit's keys hash onto GLOBAL_SHARDS objects named
 * `service:shard:limit`. A Durable Object is single-threaded with a soft
 * limit of about 1,000 requests/s (Durable Objects docs); every admitted
 * request of a key costs its object one RPC, and refused ones cost almost
 * none (the deny cache below), so one key can be limited up to ~1,000/s
 * (the schema's cap) and a limit with many keys spreads over 16 objects,
 * ~16,000 admitted requests/s in all. One object per service would cap every
 * limit of the service, all keys together, at that 1,000.
 */
export const GLOBAL_SHARDS = 16;

/**
 * The longest a request waits for the limiter. Past it (or on any error) the
 * request is admitted: a limiter outage must not become a service outage. The
 * fail-open is logged, and for FAIL_OPEN_MS after it requests do not ask at
 * all, so an unreachable object costs one bounded wait per isolate and limit,
 * not one per request. Per limit, not per isolate: one limit's objects
 * failing (overloaded by its own hot keys, say) must not switch off every
 * other limit of every service for that second.
 */
export const GLOBAL_TAKE_TIMEOUT_MS = 500;
export const FAIL_OPEN_MS = 1_000;
const FAIL_LOG_EVERY_MS = 10_000;

/** "Over until T" per `service \0 limit \0 key`, from the objects' own answers. */
const denied = new DenyCache();
/** Until when this isolate admits a limit's requests without asking, by the limit's `service \0 limit \0` prefix. */
const failOpenUntil = new Map<string, number>();
let lastFailLogAt = -Infinity;
let failuresSinceLog = 0;

/**
 * The take in flight per key in this isolate. A request for a key whose take
 * is in flight waits for that answer (with a timer of its own, so the runtime
 * does not take it for hung while another request resolves its wait) and
 * reads the deny cache again: at steady overload the answer says "that was the
 * last token", and every request that queued behind it is refused with no RPC
 * of its own. Without this, every request arriving within one RPC's latency
 * would ask the object.
 */
const inflight = new Map<string, Promise<unknown>>();

const ids = new Map<string, DurableObjectId>();
const MAX_IDS = 10_000;

function limiterFor(env: Env, service: string, limit: CompiledLimit, key: string): DurableObjectStub<RateLimiter> {
  const name = `${service}:${hashString(key) % GLOBAL_SHARDS}:${limit.name}`;
  let id = ids.get(name);
  if (id === undefined) {
    // idFromName hashes the name each call (see coordinator/stub.ts); the id is a plain value worth keeping.
    if (ids.size >= MAX_IDS) ids.clear();
    id = env.RATE_LIMITER.idFromName(name);
    ids.set(name, id);
  }
  return env.RATE_LIMITER.get(id);
}

/** Ms the deny cache says this key is still over for; 0 when the object must be asked. */
export function knownOverFor(limit: CompiledLimit, key: string, now: number): number {
  return denied.overFor(limit.prefix + key, now);
}

/** True while a recent failure of this limit's limiter has the edge failing open without asking. */
export function failingOpen(limit: CompiledLimit, now: number): boolean {
  // No failure in this isolate's recent past: one size check.
  if (failOpenUntil.size === 0) return false;
  const until = failOpenUntil.get(limit.prefix);
  if (until === undefined) return false;
  if (now < until) return true;
  failOpenUntil.delete(limit.prefix);
  return false;
}

/**
 * Asks the key's object for one request. Admitted: null, and when that was
 * the last token the key is cached as over until the next one (so the next
 * request costs no RPC either). Refused: the ms to wait, cached too.
 * Unreachable: null (fail open), logged at most every 10 s with a count.
 */
export async function takeGlobal(env: Env, service: string, limit: CompiledLimit, key: string): Promise<number | null> {
  const cacheKey = limit.prefix + key;
  const ahead = inflight.get(cacheKey);
  if (ahead !== undefined) {
    // It settles after its answer is in the deny cache, and never rejects; a slow one only means asking ourselves.
    await withTimeout(ahead, GLOBAL_TAKE_TIMEOUT_MS, "rate limiter (queued)").catch(() => undefined);
    const over = denied.overFor(cacheKey, Date.now());
    if (over > 0) return over;
  }
  const asking = ask(env, service, limit, key, cacheKey);
  inflight.set(cacheKey, asking);
  try {
    return await asking;
  } finally {
    if (inflight.get(cacheKey) === asking) inflight.delete(cacheKey);
  }
}

/** One take at the key's object; the answer goes into the deny cache before this settles. Never rejects. */
async function ask(env: Env, service: string, limit: CompiledLimit, key: string, cacheKey: string): Promise<number | null> {
  let answer: LimiterAnswer;
  try {
    answer = await withTimeout(limiterFor(env, service, limit, key).take(key, limit.rule), GLOBAL_TAKE_TIMEOUT_MS, "rate limiter");
  } catch (err) {
    failOpen(service, limit, err, Date.now());
    return null;
  }
  const now = Date.now();
  if (answer.allowed) {
    if (answer.remaining === 0) denied.markOver(cacheKey, answer.retryAfterMs, now);
    return null;
  }
  denied.markOver(cacheKey, answer.retryAfterMs, now);
  return answer.retryAfterMs;
}

function failOpen(service: string, limit: CompiledLimit, err: unknown, now: number): void {
  // Bounded like `ids`: a limit's entry is dropped when read past its time, and this only guards the rest.
  if (failOpenUntil.size >= MAX_IDS) failOpenUntil.clear();
  failOpenUntil.set(limit.prefix, now + FAIL_OPEN_MS);
  failuresSinceLog++;
  if (now - lastFailLogAt < FAIL_LOG_EVERY_MS) return;
  console.error(
    JSON.stringify({ event: "rate_limiter_unavailable", service, limit: limit.name, failures: failuresSinceLog, failOpenMs: FAIL_OPEN_MS, message: String(err) }),
  );
  lastFailLogAt = now;
  failuresSinceLog = 0;
}
