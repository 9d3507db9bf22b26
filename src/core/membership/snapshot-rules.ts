import { isRoutable } from "../health/health-machine.js";
import type { Snapshot } from "../snapshot.js";
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
  return {
    service,
    version,
    instances: (panic ? active : routable).map(toSnapshotInstance),
    allUnhealthy,
    panic,
    generatedAt: now,
  };
}

/**
 * Changes exactly when what a router would route to changes. It serialises
 * every field of every SnapshotInstance rather than a chosen few, so a field
 * added to SnapshotInstance later (as `zone` once was) bumps the version
 * without anyone remembering to add it here.
 */
export function snapshotSignature(s: Snapshot): string {
  return JSON.stringify([s.allUnhealthy, s.panic, s.instances]);
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
