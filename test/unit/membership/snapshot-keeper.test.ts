import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SnapshotKeeper } from "../../../src/coordinator/snapshots.js";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import type { Member } from "../../../src/core/membership/member.js";
import { buildSnapshot, snapshotPolicy, snapshotSignature } from "../../../src/core/membership/snapshot-rules.js";
import { member, T0 } from "./fixtures.js";

describe("SnapshotKeeper", () => {
  it("with affinity, rebuilds when a draining member's ejection ends, so its pinned sessions come back", () => {
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: ["/x"] }, affinity: { mode: "cookie" } });
    const draining = member("b", {
      membership: "draining",
      membershipSince: T0,
      leaseExpiresAt: T0 + 60_000,
      health: { ...initialHealth(), ejectedUntil: T0 + 1_000, ejections: 1 },
    });
    const members = new Map<string, Member>([["a", member("a")], ["b", draining]]);
    const keeper = new SnapshotKeeper(0, () => undefined);
    const first = keeper.current(members, "svc", false, T0, config);
    expect(first.draining).toEqual([]);
    const later = keeper.current(members, "svc", false, T0 + 2_000, config);
    expect(later.draining?.map((d) => d.id)).toEqual(["b"]);
    expect(later.version).toBeGreaterThan(first.version);
  });

  it("a kept snapshot is always what a fresh build would give at that time (no state change in between)", () => {
    const configs = [
      serviceConfigSchema.parse({ routes: { pathPrefixes: ["/x"] } }),
      serviceConfigSchema.parse({ routes: { pathPrefixes: ["/x"] }, affinity: { mode: "cookie" }, slowStartSeconds: 30 }),
    ];
    const at = fc.integer({ min: -60_000, max: 60_000 }).map((d) => T0 + d);
    const arbMember = fc.record({
      membership: fc.constantFrom("active", "draining", "expired" as const),
      since: at,
      lease: at,
      unhealthy: fc.boolean(),
      ejectedUntil: fc.option(at),
    });
    fc.assert(
      fc.property(fc.array(arbMember, { maxLength: 6 }), fc.integer({ min: 0, max: 1 }), fc.array(fc.integer({ min: 0, max: 90_000 }), { minLength: 1, maxLength: 5 }), (specs, c, steps) => {
        const config = configs[c] ?? null;
        const members = new Map<string, Member>();
        specs.forEach((sp, i) => {
          const health = { ...initialHealth(), status: sp.unhealthy ? ("unhealthy" as const) : ("healthy" as const), ejectedUntil: sp.ejectedUntil, ejections: sp.ejectedUntil === null ? 0 : 1 };
          members.set(`m${i}`, member(`m${i}`, { membership: sp.membership, membershipSince: sp.since, leaseExpiresAt: sp.lease, health }));
        });
        const keeper = new SnapshotKeeper(0, () => undefined);
        let now = T0;
        for (const step of steps) {
          now += step;
          const kept = keeper.current(members, "svc", false, now, config);
          const fresh = buildSnapshot(members.values(), "svc", kept.version, false, now, snapshotPolicy(config));
          expect(snapshotSignature(kept)).toBe(snapshotSignature(fresh));
        }
      }),
      { numRuns: 500 },
    );
  });
});
