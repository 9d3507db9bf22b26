import type { Membership } from "../schema/instance.js";

/**
 * Lease rules, pure. An active member whose lease ran out becomes `expired`
 * (not routable; a heartbeat now gets 404 so the origin re-registers) and is
 * removed `deregisterAfterSeconds` after that, which keeps it visible in the
 * API for a while. A `draining` (deregistered) member is removed as soon as no
 * request can still be on its way to it (drainMs), not after
 * `deregisterAfterSeconds`: an origin that deregisters and registers new URLs
 * in a loop must not be able to grow the coordinator's table for days.
 */
export interface LeaseView {
  membership: Membership;
  membershipSince: number;
  leaseExpiresAt: number;
}

/** The two lifetimes a non-active member can have, in ms. */
export interface RemovalRule {
  /** How long an expired member stays: `lease.deregisterAfterSeconds`. */
  expiredMs: number;
  /** How long a draining member stays: drainMs(retry). */
  drainingMs: number;
}

/**
 * The longest a router can keep routing from a snapshot taken before a
 * change: it refreshes a snapshot older than 1 s (SNAPSHOT_TTL_MS) and, while
 * the coordinator cannot be reached, keeps its last one for up to 30 s
 * (KEEP_STALE_MS), both in src/edge/cache/snapshot-cache.ts.
 */
export const ROUTER_SNAPSHOT_MAX_AGE_MS = 1_000 + 30_000;

/**
 * How long a deregistered member may still receive requests: a router may
 * still pick it from a snapshot up to ROUTER_SNAPSHOT_MAX_AGE_MS after the
 * drain, and a request that picked it then may run all its tries, each up to
 * perTryTimeoutMs, or all of them within requestTimeoutMs when that is
 * shorter. After that nothing can be in flight to it, so its row only
 * costs space. Defaults (3 × 5 s + 31 s) give 46 s; the schema's maxima
 * (10 × 60 s + 31 s) give 631 s.
 */
export function drainMs(retry: RetryBounds): number {
  const tries = retry.attempts * retry.perTryTimeoutMs;
  return Math.min(tries, retry.requestTimeoutMs ?? tries) + ROUTER_SNAPSHOT_MAX_AGE_MS;
}

/** What bounds how long a request's tries can run (core/schema/service.ts, `retry`). */
export interface RetryBounds {
  attempts: number;
  perTryTimeoutMs: number;
  requestTimeoutMs?: number | undefined;
}

export function removalRule(config: { lease: { deregisterAfterSeconds: number }; retry: RetryBounds }): RemovalRule {
  return { expiredMs: config.lease.deregisterAfterSeconds * 1000, drainingMs: drainMs(config.retry) };
}

export type LeaseAction = "none" | "expire" | "remove";

/** When a member that left `active` is removed. */
export function removalAt(m: LeaseView, rule: RemovalRule): number {
  return m.membershipSince + (m.membership === "draining" ? rule.drainingMs : rule.expiredMs);
}

/**
 * Whether an active member's lease has run out at `now`. From that moment it
 * routes nothing (snapshot-rules buildSnapshot) and its heartbeat gets 404,
 * even before the alarm's leaseAction turns it `expired`: that waits for the
 * health round, which may run for as long as its probes take to time out.
 */
export function leaseLapsed(m: Pick<LeaseView, "leaseExpiresAt">, now: number): boolean {
  return m.leaseExpiresAt <= now;
}

export function leaseAction(m: LeaseView, now: number, rule: RemovalRule): LeaseAction {
  if (m.membership === "active") return leaseLapsed(m, now) ? "expire" : "none";
  return removalAt(m, rule) <= now ? "remove" : "none";
}

/** When leaseAction would next change its answer for this member. */
export function nextLeaseEventAt(m: LeaseView, rule: RemovalRule): number {
  return m.membership === "active" ? m.leaseExpiresAt : removalAt(m, rule);
}
