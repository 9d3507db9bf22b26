import { applyPassive, isRoutable } from "../core/health/health-machine.js";
import { sameHealth } from "../core/membership/member.js";
import { isRoutableMember } from "../core/membership/snapshot-rules.js";
import type { InstanceReport } from "../core/snapshot.js";
import type { CoordinatorState } from "./state.js";

/**
 * Folds routers' passive outcomes in. Counters are added in memory and
 * written behind (state.addCounters, storage/write-behind.ts); the health
 * column is written at once, only when the state machine moved. Calls `suspect` for instances whose last failure was a
 * broken connection rather than a status, so a probe can confirm it.
 * Returns how many instances it ejected (for the metrics).
 */
export function applyReports(
  state: CoordinatorState,
  reports: readonly InstanceReport[],
  now: number,
  suspect: (id: string) => void,
): number {
  if (state.config === null) return 0;
  let ejections = 0;
  const outlier = state.config.outlier;
  let routable = routableCount(state, now);
  for (const r of reports) {
    const m = state.members.get(r.instanceId);
    if (m === undefined) continue;
    state.addCounters(m, r);
    const wasRoutable = isRoutableMember(m, now);
    // Never eject the last routable instance: a degraded answer beats a guaranteed 503.
    const health = applyPassive(m.health, r, outlier, now, routable - (wasRoutable ? 1 : 0) > 0);
    if (health.ejections > m.health.ejections) ejections++;
    if (!sameHealth(health, m.health)) state.setHealth(m, health);
    if (wasRoutable && !isRoutable(m.health, now)) routable--;
    if (r.trailingFailures > 0 && r.lastFailure !== "status") suspect(m.id);
  }
  return ejections;
}

function routableCount(state: CoordinatorState, now: number): number {
  let n = 0;
  // The snapshot's own test: a member whose lease lapsed is not routable, though the alarm has not expired it yet.
  for (const m of state.members.values()) if (isRoutableMember(m, now)) n++;
  return n;
}
