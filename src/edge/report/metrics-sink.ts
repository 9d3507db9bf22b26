import { MetricsAccumulator, type MetricsDelta } from "../../core/metrics/accumulator.js";
import type { RequestState } from "../request-state.js";

/**
 * The metrics sink of the record stage: counts each finished request into
 * this isolate's per-service deltas (core/metrics/accumulator.ts: integer
 * increments into preallocated arrays, no object per request). The outcome
 * reporter ships each service's delta with its next outcome batch, so metrics
 * add no RPC of their own. METRICS=off turns the sink off (the bench's A/B).
 */
const accumulator = new MetricsAccumulator();

/** Client-seen latency is taken here, when the response (its headers) is handed back; a streamed body's transfer is not in it. */
export function recordMetrics(state: RequestState, now: number): void {
  const service = state.service;
  if (service === null) return;
  accumulator.recordRequest(service.name, state.lastInstance, state.outcome, state.status, now - state.started, state.outcomes);
}

/** The tries `service` made before a fallback hop took the request elsewhere (route/fallback.ts). */
export function recordHandedOnMetrics(service: string, tries: RequestState["outcomes"]): void {
  accumulator.recordHandedOn(service, tries);
}

/** Whether `service` has a delta waiting (so a request that made no try still gets a report sent). */
export function metricsPending(service: string): boolean {
  return accumulator.has(service);
}

/** The service's delta since the last take, for the report RPC; undefined when there is none. */
export function takeMetrics(service: string): MetricsDelta | undefined {
  return accumulator.take(service) ?? undefined;
}
