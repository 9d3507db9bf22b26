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

  it("a kept snapshot is always what a fresh build would give at that time (no state change but heartbeats in between)", () => {
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
      // A zone or a standby level puts `groups` in the snapshot, whose totals count active members.
      zone: fc.constantFrom(null, "eu"),
      priority: fc.constantFrom(0, 1),
    });
    // A step moves the clock; `renew` is a heartbeat first (as coordinator/membership.ts heartbeat does it:
    // only for an active member whose lease still runs, marking the snapshot dirty only when the renewal
    // shortens the lease, as a lowered TTL does).
    const arbStep = fc.record({ ms: fc.integer({ min: 0, max: 90_000 }), renew: fc.option(fc.nat({ max: 5 })), ttl: fc.integer({ min: 5_000, max: 60_000 }) });
    fc.assert(
      fc.property(fc.array(arbMember, { maxLength: 6 }), fc.integer({ min: 0, max: 1 }), fc.boolean(), fc.array(arbStep, { minLength: 1, maxLength: 5 }), (specs, c, panic, steps) => {
        const config = configs[c] ?? null;
        const members = new Map<string, Member>();
        specs.forEach((sp, i) => {
          const health = { ...initialHealth(), status: sp.unhealthy ? ("unhealthy" as const) : ("healthy" as const), ejectedUntil: sp.ejectedUntil, ejections: sp.ejectedUntil === null ? 0 : 1 };
          members.set(`m${i}`, member(`m${i}`, { membership: sp.membership, membershipSince: sp.since, leaseExpiresAt: sp.lease, health, zone: sp.zone, priority: sp.priority }));
        });
        const keeper = new SnapshotKeeper(0, () => undefined);
        let now = T0;
        for (const step of steps) {
          now += step.ms;
          const renewed = step.renew === null ? undefined : members.get(`m${step.renew}`);
          if (renewed !== undefined && renewed.membership === "active" && renewed.leaseExpiresAt > now) {
            if (now + step.ttl < renewed.leaseExpiresAt) keeper.markDirty();
            renewed.leaseExpiresAt = now + step.ttl;
          }
          const kept = keeper.current(members, "svc", panic, now, config);
          const fresh = buildSnapshot(members.values(), "svc", kept.version, panic, now, snapshotPolicy(config));
          expect(snapshotSignature(kept)).toBe(snapshotSignature(fresh));
        }
      }),
      { numRuns: 500 },
    );
  });
});
