import { healthEvents, leaseExpiredEvent, type CoordinatorEvent } from "../core/events/coordinator-events.js";
import type { HealthState } from "../core/health/health-machine.js";

/**
 * Prints the coordinator's versioned events (src/core/events/coordinator-events.ts),
 * one JSON line each, with console.log like the router's request line: Workers
 * Trace Events Logpush carries a Durable Object's console output too, so both
 * arrive in the same place (docs/analytics.md).
 */
function emit(event: CoordinatorEvent): void {
  console.log(JSON.stringify(event));
}

/** Called with every health write; most writes (a counter moved) print nothing. */
export function logHealthChange(service: string | null, instance: string, before: HealthState, after: HealthState, now: number): void {
  if (service === null) return;
  for (const event of healthEvents(service, instance, before, after, now)) emit(event);
}

export function logLeaseExpired(service: string, instance: string, leaseExpiresAt: number, now: number): void {
  emit(leaseExpiredEvent(service, instance, leaseExpiresAt, now));
}
