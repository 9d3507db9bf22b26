import { initialHealth } from "../../../src/core/health/health-machine.js";
import type { Member } from "../../../src/core/membership/member.js";
import { buildSnapshot } from "../../../src/core/membership/snapshot-rules.js";
import type { GeoPoint } from "../../../src/core/policy/geo.js";
import type { Snapshot } from "../../../src/core/snapshot.js";
import { member, T0 } from "../membership/fixtures.js";

export { T0 };

/** One kind of member: how many, how many of them healthy, and where they sit. */
export interface MemberSpec {
  priority?: number;
  zone?: string | null;
  location?: GeoPoint | null;
  healthy: number;
  unhealthy?: number;
}

/**
 * Members as the coordinator holds them, built into a snapshot by the real
 * buildSnapshot, so tests see the routable instances and group totals a
 * router would. Ids are `<spec index>-<n>`; unhealthy ones end in `x`.
 */
export function membersOf(specs: readonly MemberSpec[]): Member[] {
  const out: Member[] = [];
  specs.forEach((s, k) => {
    const base = { priority: s.priority ?? 0, zone: s.zone ?? null, location: s.location ?? null };
    for (let n = 0; n < s.healthy; n++) out.push(member(`${k}-${n}`, base));
    for (let n = 0; n < (s.unhealthy ?? 0); n++) {
      out.push(member(`${k}-${n}x`, { ...base, health: { ...initialHealth(), status: "unhealthy" } }));
    }
  });
  return out;
}

export function snapshotOf(specs: readonly MemberSpec[]): Snapshot {
  return buildSnapshot(membersOf(specs), "svc", 1, false, T0);
}

/** Which spec an instance id came from. */
export const specOf = (id: string): number => Number(id.split("-")[0]);
