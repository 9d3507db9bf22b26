import { anyAtCapacity, holdInstance } from "../../core/flow/concurrency.js";
import { retryAfterMs } from "../../core/flow/retry-after.js";
import { newRetryBudgetWindow, noteRequest, spendRetry, type RetryBudgetWindow } from "../../core/flow/retry-budget.js";
import type { RoutedService } from "../../registry/route-index.js";
import { pickFromLocal } from "../pick/pick.js";
import type { SnapshotInstance } from "../../core/snapshot.js";
import type { TryResult } from "./try-origin.js";
import { clientGone } from "./client-gone.js";
import type { RequestState } from "../request-state.js";

/**
 * The try stage's flow control (issue 11; the pure rules are in
 * core/flow/): the retry budget, an origin's Retry-After on a 503, and the
 * wait for a slot under maxConcurrentRequestsPerInstance. Each is one field
 * check for a service that does not use it.
 */

/** One budget window per service, per isolate: the budget is this isolate's share of the service's traffic. */
const budgets = new Map<string, RetryBudgetWindow>();

/** Counts the request against its service's retry budget; null when the service has none. */
export function budgetFor(svc: RoutedService, now: number): RetryBudgetWindow | null {
  // An index written before the budget existed has no field: that service keeps `attempts` as its only bound.
  if (svc.retry.budget === null || svc.retry.budget === undefined) return null;
  let w = budgets.get(svc.name);
  if (w === undefined) {
    w = newRetryBudgetWindow();
    budgets.set(svc.name, w);
  }
  noteRequest(w, now);
  return w;
}

/** True when the budget lets one more retry through (and counts it); false means answer with what we have. */
export function retryAllowed(state: RequestState, svc: RoutedService, window: RetryBudgetWindow | null): boolean {
  const budget = svc.retry.budget;
  if (window === null || budget === null || budget === undefined) return true;
  if (spendRetry(window, budget, Date.now())) return true;
  state.budgetExhausted = true;
  return false;
}

/**
 * A 503 with Retry-After: this isolate sends the instance no new tries until
 * then (capped, core/flow/retry-after.ts). Snapshot mode only: in strict mode
 * the coordinator picks and the hold would not be seen. The try itself was
 * already reported once, as one failed try, like any 5xx.
 */
export function honourRetryAfter(state: RequestState, id: string, result: TryResult): void {
  if (result.ok || result.response === null || result.failure.status !== 503 || state.local === null || state.strict) return;
  const now = Date.now();
  const ms = retryAfterMs(result.response.headers.get("retry-after"), now);
  if (ms !== null) holdInstance(state.local, id, now + ms);
}

/**
 * The longest a request waits for a slot when every instance is at its cap:
 * about the time a fast origin takes to answer a few requests. Waiting longer
 * turns overload into latency for everyone; clients are better served by a
 * prompt 503 with Retry-After they can act on.
 */
export const SLOT_WAIT_MS = 1_000;
/** What the 503 overloaded answer's Retry-After says: slots free as fast as origins answer. */
export const OVERLOADED_RETRY_AFTER_SECONDS = 1;

/**
 * How often a waiting request looks for a free slot. A try's end cannot wake
 * it directly: the two are different requests, and workerd refuses to settle
 * one request's promise from another's handler ("Cannot perform I/O on behalf
 * of a different request": a first version that woke waiters from the
 * ending try failed so in the Workers pool). So
 * each waiter re-picks on its own timer: at most maxPendingRequests of them,
 * for at most SLOT_WAIT_MS, one pick (a few µs) each time.
 */
export const SLOT_POLL_MS = 5;

/**
 * The first pick found no instance. If that is because every instance is at
 * maxConcurrentRequestsPerInstance, up to maxPendingRequests requests of this
 * isolate wait for a slot (at most SLOT_WAIT_MS, or the per-try timeout if
 * shorter), picking again every SLOT_POLL_MS; the rest, and those that time
 * out, are answered 503 overloaded. Anything else (no instance at all, all
 * held back) takes the usual 503 path.
 *
 * A waiter whose client goes away leaves at once, as Envoy removes a pending
 * request whose downstream disconnects: its place is free for the next
 * client, and it takes no slot and tries no origin (client-gone.ts). Only a
 * request that waits pays for the abort listener and the wake-up closure.
 */
export async function pickWhenSaturated(state: RequestState, svc: RoutedService, requestDeadline: number | null = null): Promise<SnapshotInstance | undefined> {
  const cap = svc.maxConcurrentRequestsPerInstance;
  const local = state.local;
  if (cap === undefined || local === null || state.strict || !anyAtCapacity(local, cap)) return undefined;
  if (local.slotWaiters < (svc.maxPendingRequests ?? 0)) {
    // A client already gone takes no place.
    if (clientGone(state)) return undefined;
    const signal = state.request.signal;
    let poll: ReturnType<typeof setTimeout> | null = null;
    let wake: (() => void) | null = null;
    const leave = (): void => {
      if (poll !== null) clearTimeout(poll);
      wake?.();
    };
    signal.addEventListener("abort", leave, { once: true });
    local.slotWaiters++;
    try {
      // Within retry.requestTimeoutMs too (request-timeout.ts): a slot found after it could not be used.
      const waitEnd = Date.now() + Math.min(SLOT_WAIT_MS, svc.retry.perTryTimeoutMs);
      const deadline = requestDeadline === null ? waitEnd : Math.min(waitEnd, requestDeadline);
      while (Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          poll = setTimeout(resolve, SLOT_POLL_MS);
        });
        if (clientGone(state)) return undefined;
        const instance = pickFromLocal(state);
        if (instance !== undefined) return instance;
      }
      // The request's time ran out before a slot came free: the try stage answers it 504, not overloaded.
      if (requestDeadline !== null && requestDeadline <= waitEnd) {
        state.deadlinePassed = true;
        return undefined;
      }
    } finally {
      local.slotWaiters--;
      signal.removeEventListener("abort", leave);
    }
  }
  state.overloaded = true;
  return undefined;
}
