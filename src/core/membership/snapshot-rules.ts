import { isRoutable } from "../health/health-machine.js";
import { leaseLapsed, ROUTER_SNAPSHOT_MAX_AGE_MS } from "../lease/lease.js";
import type { ServiceConfig } from "../schema/service.js";
import type { DrainingInstance, Snapshot, SnapshotGroup } from "../snapshot.js";
import { toSnapshotInstance, type Member, type SnapshotExtras } from "./member.js";

/**
 * What the service's traffic policies need in its snapshot beyond the
 * routable set (src/core/policy/): the labels its split rules name, when each
 * instance became healthy (slow start), and the draining instances pinned
 * sessions may still use (affinity). Undefined when it has none of them, so
 * such a snapshot is exactly what it was before the policies existed.
 */
export interface SnapshotPolicy extends SnapshotExtras {
  affinity: boolean;
}

export function snapshotPolicy(config: ServiceConfig | null): SnapshotPolicy | undefined {
  if (config === null || (config.split === undefined && config.slowStartSeconds === 0 && config.affinity === undefined)) return undefined;
  const keys = config.split === undefined ? null : [...new Set(config.split.flatMap((r) => Object.keys(r.to)))];
  return { labelKeys: keys, healthySince: config.slowStartSeconds > 0, affinity: config.affinity !== undefined };
}

/**
 * Until when a draining member keeps its pinned sessions: while its lease
 * would still have run, and never past ROUTER_SNAPSHOT_MAX_AGE_MS after the
 * drain began, so the last pinned request (with all its tries) has ended by
 * the time the lease rules remove the member (core/lease drainMs).
 */
export function pinUntil(m: Member): number {
  return Math.min(m.leaseExpiresAt, m.membershipSince + ROUTER_SNAPSHOT_MAX_AGE_MS);
}

/** An active member whose lease has not run out at `now`: one the snapshot holds, routable or not. */
export function isLive(m: Member, now: number): boolean {
  return m.membership === "active" && !leaseLapsed(m, now);
}

/** In the snapshot's routable set at `now`: live and healthy (not ejected). */
export function isRoutableMember(m: Member, now: number): boolean {
  return isLive(m, now) && isRoutable(m.health, now);
}

/**
 * The routable set. When members exist but none is routable, `panic` decides
 * between routing to every active member and routing to none (router: 503).
 * An active member whose lease ran out by `now` counts as gone (not routed,
 * not in panic, not in `groups`) although its row is still `active`: the
 * alarm marks it expired only after its health round, which may take as long
 * as its slowest probes, and routers must stop at their next refresh.
 */
export function buildSnapshot(
  members: Iterable<Member>,
  service: string,
  version: number,
  panicEnabled: boolean,
  now: number,
  policy?: SnapshotPolicy,
): Snapshot {
  const active: Member[] = [];
  const routable: Member[] = [];
  const draining: DrainingInstance[] = [];
  for (const m of members) {
    if (m.membership === "draining" && policy?.affinity === true && isRoutable(m.health, now) && pinUntil(m) > now) {
      draining.push({ ...toSnapshotInstance(m, policy), pinUntil: pinUntil(m) });
    }
    if (!isLive(m, now)) continue;
    active.push(m);
    if (isRoutable(m.health, now)) routable.push(m);
  }
  const allUnhealthy = active.length > 0 && routable.length === 0;
  const panic = allUnhealthy && panicEnabled;
  const snap: Snapshot = {
    service,
    version,
    instances: (panic ? active : routable).map((m) => toSnapshotInstance(m, policy)),
    allUnhealthy,
    panic,
    generatedAt: now,
  };
  if (policy?.affinity === true) snap.draining = draining;
  const groups = memberGroups(active);
  if (groups !== null) snap.groups = groups;
  return snap;
}

/**
 * Active members counted per (priority, zone, location), in first-seen
 * order; null when no member has any of them, the common case, which then
 * adds nothing to the snapshot.
 */
export function memberGroups(active: readonly Member[]): SnapshotGroup[] | null {
  if (!active.some((m) => m.priority !== 0 || m.zone !== null || m.location !== null)) return null;
  const byKey = new Map<string, SnapshotGroup>();
  for (const m of active) {
    const key = JSON.stringify([m.priority, m.zone, m.location?.latitude ?? null, m.location?.longitude ?? null]);
    const g = byKey.get(key);
    if (g === undefined) byKey.set(key, { priority: m.priority, zone: m.zone, location: m.location, total: 1 });
    else g.total++;
  }
  return [...byKey.values()];
}

/**
 * Changes exactly when what a router would route to changes. It serialises
 * every field of every SnapshotInstance rather than a chosen few, so a field
 * added to SnapshotInstance later (as `zone` once was) bumps the version
 * without anyone remembering to add it here.
 */
export function snapshotSignature(s: Snapshot): string {
  // `draining` and `groups` are absent for services without affinity or priorities/zones/locations, which keeps their signatures as they were.
  const parts: unknown[] = [s.allUnhealthy, s.panic, s.instances];
  if (s.groups !== undefined) parts.push(s.groups);
  if (s.draining !== undefined) parts.push({ draining: s.draining });
  return JSON.stringify(parts);
}

/**
 * Until when a snapshot built at `now` stays right with no state change: the
 * earliest end of an ejection or of a lease among active members, since those
 * end with time alone and nothing else in the routable set does (a heartbeat
 * that renews a lease only makes the next build come early, with the same
 * signature, so it need not mark the snapshot dirty). With affinity the
 * draining list also changes with time alone, when a draining member's
 * ejection or pin ends (buildSnapshot's test), so those count too. Infinity
 * when none.
 */
export function snapshotValidUntil(members: Iterable<Member>, now: number, policy?: SnapshotPolicy): number {
  let until = Number.POSITIVE_INFINITY;
  const sooner = (t: number | null) => {
    if (t !== null && t > now && t < until) until = t;
  };
  for (const m of members) {
    if (m.membership === "active") {
      sooner(m.health.ejectedUntil);
      sooner(m.leaseExpiresAt);
    } else if (m.membership === "draining" && policy?.affinity === true) {
      sooner(m.health.ejectedUntil);
      sooner(pinUntil(m));
    }
  }
  return until;
}
