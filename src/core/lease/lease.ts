import type { Membership } from "../schema/instance.js";

/**
 * Lease rules, pure. An active member whose lease ran out becomes `expired`
 * (not routable; a heartbeat now gets 404 so the origin re-registers). An
 * expired or draining member is removed `deregisterAfterSeconds` after it
 * entered that state, which keeps it visible in the API for a while.
 */
export interface LeaseView {
  membership: Membership;
  membershipSince: number;
  leaseExpiresAt: number;
}

export type LeaseAction = "none" | "expire" | "remove";

export function leaseAction(m: LeaseView, now: number, deregisterAfterSeconds: number): LeaseAction {
  if (m.membership === "active") return m.leaseExpiresAt <= now ? "expire" : "none";
  return m.membershipSince + deregisterAfterSeconds * 1000 <= now ? "remove" : "none";
}

/** When leaseAction would next change its answer for this member. */
export function nextLeaseEventAt(m: LeaseView, deregisterAfterSeconds: number): number {
  return m.membership === "active" ? m.leaseExpiresAt : m.membershipSince + deregisterAfterSeconds * 1000;
}
