import { isIdempotent } from "../../core/retry/retry-policy.js";
import { checkJwt } from "../admit/authenticate.js";
import { checkRateLimits, type RateLimitRefusal } from "../admit/rate-limit.js";
import { shedFor, type ShedRefusal } from "../admit/shed.js";
import type { RoutedService } from "../../registry/route-index.js";
import type { LoadedRoutes } from "../cache/route-cache.js";
import { recordHandedOnMetrics } from "../report/metrics-sink.js";
import { recordOutcomes } from "../report/outcome-reporter.js";
import type { RequestState } from "../request-state.js";
import { UNDECIDED } from "../../core/policy/traffic-view.js";

/**
 * The fallback hop (`fallbackService`, docs/api.md "Priority pools and
 * fallback"): a service that could not answer hands the request to the
 * service it names, instead of a 503 (or a 502 after tries that all failed).
 *
 * - "Could not answer": no instance to try at all (nothing healthy at any
 *   priority level), or every try failed without an answer (refused, reset,
 *   timed out) and the request may be sent again: its body is replayable and
 *   its method idempotent, or the last failure was a refused connection. An
 *   origin's own answer, even a 5xx, is relayed as always.
 * - Exactly one hop: a request that arrived as a fallback never falls back
 *   again, so A → B → A (or a chain) stops after the first hop. A service
 *   naming itself is refused at PUT.
 * - A fallback name that is not (or no longer) a service: no hop, the 503 of
 *   today.
 * - After a try, a service with `upstreamAuth` or `signing` does not hop: its
 *   token and signature are on the request's headers and must not reach
 *   another service's origins.
 *
 * The fallback service's instances, balancer, retries and upstream security
 * apply, and so does its own admission (admitFallback): the hop is not a way
 * around its auth, rate limits or shedding. The upstream path is the one the
 * primary would have sent.
 */
export function fallbackFor(state: RequestState, routes: LoadedRoutes): RoutedService | null {
  const svc = state.service;
  // A client gone before any try (proxy/client-gone.ts) is not handed on either: no origin is tried for it.
  if (svc?.fallbackService === undefined || state.fallbackFrom !== null || state.clientFailed || state.clientClosed) return null;
  const last = state.last;
  if (last !== null) {
    if (last.response !== null || last.ok || !state.replayable) return null;
    if (!isIdempotent(state.method) && last.failure.kind !== "connect-failure") return null;
    if (svc.upstreamAuth !== undefined || svc.signing !== undefined) return null;
  }
  return routes.services.get(svc.fallbackService) ?? null;
}

/**
 * What the fallback's admission says about the hop: hand the request on,
 * keep it (the first service answers as if it had no fallback), or hand it
 * on to be refused by the fallback's rate limit or shedding.
 */
export type HopVerdict = "hop" | "stay" | RateLimitRefusal | ShedRefusal;

/**
 * The fallback's own admission, run before the hop with the admit stage's
 * functions; the first service's admission ran once, at the admit stage, and
 * does not run again. Its body is already taken.
 *
 * - `auth.jwt` first: a request the fallback would refuse if sent to it
 *   directly (no token, or one it does not accept) is not handed on, and gets
 *   the first service's own answer ("stay"). Without this, a service with no
 *   auth naming a protected one as its fallback let any client reach the
 *   protected origins, with a client-chosen claims header. The claims
 *   verified here are the ones the fallback's forwardClaimsHeader carries and
 *   its `jwtClaim` limits key on. Checked before shedding and limits, so a
 *   client the fallback does not accept learns nothing of it and spends none
 *   of its tokens.
 * - Then `shedPercent`, then `rateLimits` (isolate and global), in the admit
 *   stage's order, so a shed request spends no token. These exist to protect
 *   the fallback, typically a smaller standby; their refusal is its own
 *   answer (429 with Retry-After, or 503 overloaded), given after the hop
 *   (docs/api.md, "Priority pools and fallback").
 */
export async function admitFallback(state: RequestState, request: Request, env: Env, next: RoutedService): Promise<HopVerdict> {
  if (next.jwt !== undefined && (await checkJwt(state, request, next.name, next.jwt)) !== null) return "stay";
  if (next.shedPercent !== undefined) {
    const shed = shedFor(request.headers, next.name, next.shedPercent);
    if (shed !== null) return shed;
  }
  if (next.rateLimits === undefined) return "hop";
  return (await checkRateLimits(state, request, env, next, next.rateLimits)) ?? "hop";
}

/**
 * Moves the request to `next`: the primary's try outcomes go to the
 * primary's coordinator now, and its tries into its metrics (the record stage
 * reports the fallback's and counts the request once, under the fallback), and
 * every per-service field of the request state starts over. The first
 * service's traffic policies, split group and pin do not follow the request; pick sets the fallback's.
 */
export function hopTo(state: RequestState, next: RoutedService, env: Env, ctx: ExecutionContext): void {
  const from = state.service;
  if (from === null) return;
  if (state.outcomes.length > 0) {
    // Before the report is queued: its flush takes the service's metrics delta along.
    if (env.METRICS !== "off") recordHandedOnMetrics(from.name, state.outcomes);
    recordOutcomes(env, ctx, from.name, state.outcomes);
  }
  state.fallbackFrom = from.name;
  state.service = next;
  state.outcomes = [];
  state.tried = undefined;
  state.last = null;
  state.lastInstance = null;
  state.local = null;
  state.strict = false;
  state.strictVersion = null;
  state.strictAllUnhealthy = false;
  state.hashKey = undefined;
  state.near = null;
  state.traffic = null;
  // The first service's split group and pin name its own rules and instances: a group index kept here
  // would pick the fallback's rule of the same number (its 1 % canary would take every hopped request).
  state.splitGroup = UNDECIDED;
  // The first service's instances were at their cap, not the fallback's: respond must not answer for it as overloaded.
  state.overloaded = false;
  // Its requestTimeoutMs is its own, counted from the same start of the try stage (proxy/request-timeout.ts).
  state.deadlinePassed = false;
  state.pinned = null;
  state.pinHeader = null;
}
