import { compileRateLimits, limitApplies, limitKey, type CompiledLimit, type CompiledLimits } from "../../core/rate-limit/compiled-limits.js";
import { GcraStore } from "../../core/rate-limit/gcra.js";
import type { RoutedService } from "../../registry/route-index.js";
import type { RequestState } from "../request-state.js";
import { failingOpen, knownOverFor, takeGlobal } from "./global-limit.js";

/** A request a rate limit turned away: answered 429 by respond/refuse.ts, with no origin tried. */
export interface RateLimitRefusal {
  readonly outcome: "rate_limited";
  readonly limit: CompiledLimit;
  readonly retryAfterMs: number;
}

type Verdict = RateLimitRefusal | null;

/**
 * Compiled once per routed service object, i.e. once per route-table load:
 * the match sets and header values are built here, not per request. A
 * WeakMap, so a table the route cache replaced takes its entries with it.
 */
const compiled = new WeakMap<RoutedService, CompiledLimits>();
/**
 * Isolate-scope buckets, by `service \0 limit \0 key`. Module state, not part
 * of the compiled limits, so a route-table reload (any service's config
 * change) does not hand every key a fresh burst.
 */
const buckets = new GcraStore();

function limitsOf(service: RoutedService, configured: NonNullable<RoutedService["rateLimits"]>): CompiledLimits {
  let c = compiled.get(service);
  if (c === undefined) {
    c = compileRateLimits(service.name, configured);
    compiled.set(service, c);
  }
  return c;
}

/**
 * Admission policy for services with `rateLimits` (docs/api.md, "Rate
 * limits"). Runs after the JWT policy, so `jwtClaim` keys read verified
 * claims, and before the body is read. Isolate-scope limits first (no I/O),
 * then global ones, each in config order; the first that refuses answers, and
 * a refused request has still spent a token of the limits checked before it
 * (as nginx's and Envoy's do). A service without `rateLimits` pays one field
 * check; a request refused by the deny cache makes no promise.
 */
export function enforceRateLimits(state: RequestState, request: Request, env: Env): Verdict | Promise<Verdict> {
  const configured = state.service?.rateLimits;
  if (configured === undefined || state.service === null) return null;
  return checkRateLimits(state, request, env, state.service, configured);
}

/**
 * The limits of `service`, which is the request's own service at admission
 * and the fallback before a hop (route/fallback.ts): the hop spends the
 * fallback's tokens, in its buckets and limiter objects.
 */
export function checkRateLimits(
  state: RequestState,
  request: Request,
  env: Env,
  service: RoutedService,
  configured: NonNullable<RoutedService["rateLimits"]>,
): Verdict | Promise<Verdict> {
  const limits = limitsOf(service, configured);
  // The time of the check, not the request's start: a fallback hop comes after the first service's tries
  // (seconds of timeouts), and a start time older than the key's last take reads as a clock gone back,
  // which the store answers by pulling the key's state back to it, i.e. a refill of tokens never earned.
  const now = Date.now();
  const source = { headers: request.headers, claims: state.claims, url: request.url };
  for (const limit of limits.isolate) {
    if (!limitApplies(limit, state.method, request.url)) continue;
    const d = buckets.take(limit.prefix + limitKey(limit, source), limit.rule, now);
    if (!d.allowed) return { outcome: "rate_limited", limit, retryAfterMs: d.retryAfterMs };
  }
  for (let i = 0; i < limits.global.length; i++) {
    const limit = limits.global[i];
    if (limit === undefined || !limitApplies(limit, state.method, request.url)) continue;
    const key = limitKey(limit, source);
    const over = knownOverFor(limit, key, now);
    if (over > 0) return { outcome: "rate_limited", limit, retryAfterMs: over };
    if (failingOpen(limit, now)) continue;
    return askFrom(i, key, limits.global, service.name, state.method, source, env);
  }
  return null;
}

/** The global limits from `first` on, asking the limiter objects in turn; `key` is the first one's. */
async function askFrom(
  first: number,
  firstKey: string,
  global: readonly CompiledLimit[],
  service: string,
  method: string,
  source: Parameters<typeof limitKey>[1],
  env: Env,
): Promise<Verdict> {
  for (let i = first; i < global.length; i++) {
    const limit = global[i];
    if (limit === undefined) continue;
    if (i !== first && !limitApplies(limit, method, source.url)) continue;
    const key = i === first ? firstKey : limitKey(limit, source);
    const now = Date.now();
    const over = knownOverFor(limit, key, now);
    if (over > 0) return { outcome: "rate_limited", limit, retryAfterMs: over };
    if (failingOpen(limit, now)) continue;
    const wait = await takeGlobal(env, service, limit, key);
    if (wait !== null) return { outcome: "rate_limited", limit, retryAfterMs: wait };
  }
  return null;
}
