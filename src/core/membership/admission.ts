import { removalAt, type RemovalRule } from "../lease/lease.js";
import type { Member } from "./member.js";

/**
 * Room for a new member (an id the coordinator does not hold). Two bounds:
 *
 * - MAX_ACTIVE_INSTANCES active members. A health round probes 6 at a time,
 *   so it lasts about ceil(N / 6) × probe latency: 650–850 ms measured for
 *   1,000 healthy loopback origins, but minutes if hundreds of them time out.
 * - MAX_MEMBERS rows in all (active + draining + expired), so cycling URLs
 *   cannot grow the table without bound. When it is full, the oldest member
 *   that no router can still be using (an expired one, or a draining one past
 *   its drain time) makes room; if there is none, the caller is told when the
 *   first draining member will be gone.
 *
 * `pendingNew` counts new ids whose registration is still writing its KV
 * mirror: they hold a place already.
 */
export const MAX_ACTIVE_INSTANCES = 1000;
export const MAX_MEMBERS = 2 * MAX_ACTIVE_INSTANCES;

export type Admission =
  | { ok: true; evict: string | null }
  | { ok: false; error: "too_many_instances" }
  | { ok: false; error: "too_many_members"; retryAfterMs: number };

export function admitNew(members: Iterable<Member>, pendingNew: number, rule: RemovalRule, now: number): Admission {
  let active = 0;
  let total = 0;
  let evict: Member | null = null;
  let firstRemovalAt = Number.POSITIVE_INFINITY;
  for (const m of members) {
    total++;
    if (m.membership === "active") {
      active++;
      continue;
    }
    const removeAt = removalAt(m, rule);
    const reclaimable = m.membership === "expired" || removeAt <= now;
    if (reclaimable && (evict === null || m.membershipSince < evict.membershipSince)) evict = m;
    firstRemovalAt = Math.min(firstRemovalAt, removeAt);
  }
  if (active + pendingNew >= MAX_ACTIVE_INSTANCES) return { ok: false, error: "too_many_instances" };
  if (total + pendingNew < MAX_MEMBERS) return { ok: true, evict: null };
  if (evict !== null) return { ok: true, evict: evict.id };
  // Full of active and still-draining members (or of pending registrations): wait for the first drain to end.
  const wait = Number.isFinite(firstRemovalAt) ? firstRemovalAt - now : 1000;
  return { ok: false, error: "too_many_members", retryAfterMs: Math.max(1000, wait) };
}
