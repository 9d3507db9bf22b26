import type { TryOutcome } from "../../core/snapshot.js";
import { snapshotVersion } from "../pick/pick.js";
import { routingMode, type RequestOutcome, type RequestState, type RoutingMode } from "../request-state.js";

/**
 * One structured line per proxied request. Workers Trace Events Logpush ships
 * console output, so this line is the analytics event (docs/analytics.md).
 * It is built from the request state at the end, only when logging is on:
 * REQUEST_LOG=off costs no allocation for it, and no other sink depends on it.
 */
export interface RequestEvent {
  event: "request";
  ts: string;
  service: string | null;
  /** The service that had nothing healthy and handed the request to `service` (its fallbackService); null without a hop. */
  fallbackFrom: string | null;
  method: string;
  host: string;
  path: string;
  status: number;
  outcome: RequestOutcome;
  instance: string | null;
  attempts: number;
  tried: string[];
  failures: string[];
  latencyMs: number;
  mode: RoutingMode | null;
  snapshotVersion: number | null;
  /** True when the retry budget refused a retry the retry policy allowed (docs/api.md, "Flow control"). */
  retryBudgetExhausted: boolean;
}

function failureLabel(o: TryOutcome): string {
  return o.failure === "status" ? String(o.status) : (o.failure ?? "status");
}

export function requestEvent(state: RequestState, url: URL, now: number): RequestEvent {
  const failures: string[] = [];
  for (const o of state.outcomes) if (!o.ok) failures.push(failureLabel(o));
  return {
    event: "request",
    ts: new Date(state.started).toISOString(),
    service: state.service?.name ?? null,
    fallbackFrom: state.fallbackFrom,
    method: state.method,
    host: url.host,
    path: url.pathname,
    status: state.status,
    outcome: state.outcome,
    instance: state.lastInstance,
    attempts: state.outcomes.length,
    tried: state.outcomes.map((o) => o.instanceId),
    failures,
    latencyMs: now - state.started,
    mode: routingMode(state),
    snapshotVersion: state.service === null ? null : snapshotVersion(state),
    retryBudgetExhausted: state.budgetExhausted,
  };
}

export function logRequest(event: RequestEvent): void {
  console.log(JSON.stringify(event));
}
