import type { RoutedService } from "../../registry/route-index.js";
import type { RequestState } from "../request-state.js";

/**
 * `retry.requestTimeoutMs` (docs/api.md): the longest the try stage may take
 * for one request, across its tries, as Envoy's route timeout bounds a
 * request once it is in. It counts from the start of the try stage, so a slow
 * client's upload, token checks and rate-limit calls in admission are not in
 * it (they are the client's time, not an origin's); a wait for a concurrency
 * slot and a token fetch for the origin are. After a fallback hop the
 * fallback's own requestTimeoutMs counts from the same moment.
 */

/** Less than this left, and no try starts: it could only time out, charged to an origin. */
export const MIN_TRY_MS = 10;

/** The time by which the service's tries must end, or null when it sets no requestTimeoutMs. */
export function requestDeadline(state: RequestState, svc: RoutedService): number | null {
  const timeoutMs = svc.retry.requestTimeoutMs;
  if (timeoutMs === undefined) return null;
  state.tryStageAt ??= Date.now();
  return state.tryStageAt + timeoutMs;
}

/**
 * The timeout for a try about to start: perTryTimeoutMs, or what is left
 * before `deadline` when less. 0 when too little is left to start one.
 *
 * Marks a try that earlier tries or waits of the request left short
 * (state.tryCut): less than the full time a try of the service gets, the
 * shorter of perTryTimeoutMs and requestTimeoutMs. Its timeout was the
 * request's, not proof of a slow origin (failover.ts, pick/pick.ts tryEnded).
 * A first try given all of requestTimeoutMs is not cut: an origin slower
 * than that is marked down like any other that times out.
 */
export function tryTimeout(state: RequestState, svc: RoutedService, deadline: number | null): number {
  const perTry = svc.retry.perTryTimeoutMs;
  if (deadline === null) return perTry;
  const left = deadline - Date.now();
  if (left < MIN_TRY_MS) return 0;
  const full = Math.min(perTry, svc.retry.requestTimeoutMs ?? perTry);
  // By more than MIN_TRY_MS: the clock may tick between the start of the try stage and the first try.
  state.tryCut = left + MIN_TRY_MS < full;
  return left < perTry ? left : perTry;
}

/** Whether a try failed only for want of the request's time: a timeout of a try left short (see tryTimeout). */
export function timedOutOnRequestTime(state: RequestState, failure: string): boolean {
  return state.tryCut && failure === "timeout";
}

/** Whether a retry, or the next try, still has time to start. */
export function timeLeft(deadline: number | null): boolean {
  return deadline === null || deadline - Date.now() >= MIN_TRY_MS;
}
