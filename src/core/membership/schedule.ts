import { nextLeaseEventAt, type RemovalRule } from "../lease/lease.js";
import type { Member } from "./member.js";

/**
 * The coordinator's one alarm: the earliest of the next health round, the
 * next lease event and the next ejection end. `nextCheckAt` 0 means no round
 * is scheduled yet, so the first comes one interval from now.
 */
export function nextAlarmAt(
  members: Iterable<Member>,
  nextCheckAt: number,
  intervalMs: number,
  removal: RemovalRule,
  now: number,
): number {
  let at = nextCheckAt > 0 ? nextCheckAt : now + intervalMs;
  for (const m of members) {
    at = Math.min(at, nextLeaseEventAt(m, removal));
    if (m.health.ejectedUntil !== null && m.health.ejectedUntil > now) at = Math.min(at, m.health.ejectedUntil);
  }
  return at;
}
