import { isRoutable } from "../health/health-machine.js";
import type { Snapshot, SnapshotGroup } from "../snapshot.js";
import { toSnapshotInstance, type Member } from "./member.js";

/**
 * The routable set. When members exist but none is routable, `panic` decides
 * between routing to every active member and routing to none (router: 503).
 */
export function buildSnapshot(
  members: Iterable<Member>,
  service: string,
  version: number,
  panicEnabled: boolean,
  now: number,
): Snapshot {
  const active: Member[] = [];
  const routable: Member[] = [];
  for (const m of members) {
    if (m.membership !== "active") continue;
    active.push(m);
    if (isRoutable(m.health, now)) routable.push(m);
  }
  const allUnhealthy = active.length > 0 && routable.length === 0;
  const panic = allUnhealthy && panicEnabled;
  const snap: Snapshot = {
    service,
    version,
    instances: (panic ? active : routable).map(toSnapshotInstance),
    allUnhealthy,
    panic,
    generatedAt: now,
  };
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
  return JSON.stringify([s.allUnhealthy, s.panic, s.instances, s.groups ?? null]);
}

/**
 * Until when a snapshot built at `now` stays right with no state change: the
 * earliest end of an ejection among active members, since an ejection ends with
 * time alone and nothing else in the routable set does. Infinity when none.
 */
export function snapshotValidUntil(members: Iterable<Member>, now: number): number {
  let until = Number.POSITIVE_INFINITY;
  for (const m of members) {
    const end = m.health.ejectedUntil;
    if (m.membership === "active" && end !== null && end > now && end < until) until = end;
  }
  return until;
}
