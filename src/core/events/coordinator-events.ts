import type { HealthState } from "../health/health-machine.js";
import * as z from "../schema/zod.js";
import { isoTimeSchema } from "./iso-time.js";
import { EVENT_VERSION } from "./request-event.js";

/*
 * What a service's coordinator (Durable Object) logs when an instance's
 * standing changes: one line per health transition, per ejection and per
 * lease expiry. Built here as plain values from the before and after states,
 * so the rules are unit-tested without a Durable Object; the coordinator
 * only prints them (src/coordinator/events.ts).
 */

const name = z.string().check(z.minLength(1), z.maxLength(128));
const health = z.enum(["healthy", "unhealthy"]);

const base = {
  v: z.literal(EVENT_VERSION),
  ts: isoTimeSchema,
  service: name,
  instance: name,
};

/** Active checks moved the instance between healthy and unhealthy. */
export const healthTransitionEventSchema = z.object({
  ...base,
  event: z.literal("health_transition"),
  from: health,
  to: health,
  /** The probe result that tipped it (e.g. `HTTP 503 in 7 ms`, `timeout after 2000 ms`; outbound/probe.ts). */
  reason: z.nullable(z.string().check(z.maxLength(256))),
});

/** Passive outlier detection took the instance out of rotation until `ejectedUntil`. */
export const ejectionEventSchema = z.object({
  ...base,
  event: z.literal("ejection"),
  ejectedUntil: isoTimeSchema,
  durationMs: z.number().check(z.int(), z.gte(0)),
  /** Ejections so far, this one included: each lasts twice as long as the last, up to the cap. */
  ejections: z.number().check(z.int(), z.gte(1)),
});

/** The instance missed its heartbeats: its lease ran out and it left the routable set. */
export const leaseExpiredEventSchema = z.object({
  ...base,
  event: z.literal("lease_expired"),
  leaseExpiredAt: isoTimeSchema,
});

export type HealthTransitionEvent = z.infer<typeof healthTransitionEventSchema>;
export type EjectionEvent = z.infer<typeof ejectionEventSchema>;
export type LeaseExpiredEvent = z.infer<typeof leaseExpiredEventSchema>;
export type CoordinatorEvent = HealthTransitionEvent | EjectionEvent | LeaseExpiredEvent;

/** The events one health write implies: none for most (a counter moved), at most one of each kind. */
export function healthEvents(service: string, instance: string, before: HealthState, after: HealthState, now: number): CoordinatorEvent[] {
  const events: CoordinatorEvent[] = [];
  const ts = new Date(now).toISOString();
  if (before.status !== after.status) {
    events.push({ v: EVENT_VERSION, event: "health_transition", ts, service, instance, from: before.status, to: after.status, reason: after.lastCheckResult });
  }
  // An ejection is the only write that sets a new end time in the future.
  if (after.ejectedUntil !== null && after.ejectedUntil !== before.ejectedUntil && after.ejectedUntil > now) {
    events.push({
      v: EVENT_VERSION,
      event: "ejection",
      ts,
      service,
      instance,
      ejectedUntil: new Date(after.ejectedUntil).toISOString(),
      durationMs: Math.max(0, after.ejectedUntil - now),
      ejections: after.ejections,
    });
  }
  return events;
}

export function leaseExpiredEvent(service: string, instance: string, leaseExpiresAt: number, now: number): LeaseExpiredEvent {
  return { v: EVENT_VERSION, event: "lease_expired", ts: new Date(now).toISOString(), service, instance, leaseExpiredAt: new Date(leaseExpiresAt).toISOString() };
}
