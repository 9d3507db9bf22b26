import * as z from "./zod.js";

/**
 * Flow-control fields of a service (issue 11, docs/api.md "Flow control"):
 * concurrency limits, load shedding and the retry budget. Rate limits are in
 * rate-limits.ts. Absent concurrency and shedding fields mean off (today's
 * behaviour); the retry budget is on by default (see RETRY_BUDGET_DEFAULT).
 */

/** Upper bounds: far above any sane setting, low enough that no number is mistaken for "unlimited". */
export const MAX_CONCURRENT_PER_INSTANCE = 100_000;
export const MAX_PENDING_REQUESTS = 10_000;
export const MAX_MIN_RETRIES_PER_SECOND = 100_000;

/**
 * Linkerd's and Envoy's defaults: 20 % of requests, at least 10 retries a
 * second. On by default because `attempts` alone lets a failing service
 * multiply its own load `attempts`-fold just when it can least take it; the
 * floor of 10 a second per isolate leaves a service with little traffic
 * retrying exactly as before. `"budget": null` turns it off.
 */
export const RETRY_BUDGET_DEFAULT = { percent: 20, minPerSecond: 10 } as const;

export const retryBudgetSchema = z.strictObject({
  percent: z._default(z.number().check(z.gte(0), z.lte(100)), RETRY_BUDGET_DEFAULT.percent),
  minPerSecond: z._default(z.number().check(z.int(), z.gte(0), z.lte(MAX_MIN_RETRIES_PER_SECOND)), RETRY_BUDGET_DEFAULT.minPerSecond),
});

/** `retry.budget`: an object (missing fields take the defaults), or null for no budget (only `attempts` bounds retries). */
export const retryBudgetField = z._default(z.nullable(retryBudgetSchema), () => ({ ...RETRY_BUDGET_DEFAULT }));

/** The top-level service fields; spread into the service schema. */
export const flowFields = {
  /** Tries in flight per instance, per isolate (Envoy's circuit breaker `max_requests`); over it the balancer skips the instance. */
  maxConcurrentRequestsPerInstance: z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_CONCURRENT_PER_INSTANCE))),
  /** Requests per isolate that may wait (briefly) for a slot when every instance is at its cap; 0 or absent: refuse at once. */
  maxPendingRequests: z.optional(z.number().check(z.int(), z.gte(0), z.lte(MAX_PENDING_REQUESTS))),
  /** Share of clients (by client IP hash) refused with 503, 0-100. */
  shedPercent: z.optional(z.number().check(z.gte(0), z.lte(100))),
};

type Issue = { code: "custom"; message: string; input: unknown; path: PropertyKey[] };

/** maxPendingRequests only means something under a cap; said at the field, not silently ignored. */
export function flowRefusals(c: { maxConcurrentRequestsPerInstance?: number | undefined; maxPendingRequests?: number | undefined }): Issue[] {
  if (c.maxPendingRequests === undefined || c.maxConcurrentRequestsPerInstance !== undefined) return [];
  return [
    {
      code: "custom",
      message: "maxPendingRequests needs maxConcurrentRequestsPerInstance: requests only wait when every instance is at that cap",
      input: c.maxPendingRequests,
      path: ["maxPendingRequests"],
    },
  ];
}
