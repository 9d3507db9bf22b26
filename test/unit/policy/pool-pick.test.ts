import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BALANCER_KINDS } from "../../../src/core/balance/index.js";
import { markDown, pickLocal, recordLatency } from "../../../src/core/local-health/local-pick.js";
import { adoptSnapshot, newLocalServiceState } from "../../../src/core/local-health/local-service-state.js";
import { zoneKey } from "../../../src/core/policy/locality.js";
import { levelHealth, priorityLoads } from "../../../src/core/policy/priority.js";
import { seededRandom } from "../seeded-random.js";
import { membersOf, snapshotOf, specOf, T0, type MemberSpec } from "./pool-fixtures.js";
import { buildSnapshot } from "../../../src/core/membership/snapshot-rules.js";

/**
 * The narrowing step as the edge runs it: pickLocal over a snapshot built by
 * the real buildSnapshot, with local marks, for every balancer kind.
 */
const STALL_MS = 250;
const NOW = T0 + 1;

function stateOf(specs: MemberSpec[], kind: (typeof BALANCER_KINDS)[number] = "round_robin", seed = 7) {
  return newLocalServiceState(snapshotOf(specs), "coordinator", kind, T0, seededRandom(seed));
}

describe("priority levels at the edge", () => {
  it("a healthy primary level takes everything; standby gets nothing", () => {
    const s = stateOf([{ priority: 0, healthy: 3 }, { priority: 1, healthy: 3 }]);
    const random = seededRandom(1);
    for (let i = 0; i < 300; i++) expect(specOf(pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, null, random)?.id ?? "")).toBe(0);
  });

  it("a primary level with 1 of 3 healthy keeps ~47 % (⌊140 × 1/3⌋) and the standby takes the rest", () => {
    const s = stateOf([{ priority: 0, healthy: 1, unhealthy: 2 }, { priority: 1, healthy: 3 }]);
    const random = seededRandom(3);
    let primary = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (specOf(pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, null, random)?.id ?? "") === 0) primary++;
    expect(primary / n).toBeGreaterThan(0.45);
    expect(primary / n).toBeLessThan(0.49);
  });

  it("instances this isolate marked down count as unhealthy: a primary level all marked sends everything to standby", () => {
    const s = stateOf([{ priority: 0, healthy: 2 }, { priority: 1, healthy: 2 }]);
    markDown(s, "0-0", NOW);
    markDown(s, "0-1", NOW);
    const random = seededRandom(5);
    for (let i = 0; i < 100; i++) expect(specOf(pickLocal(s, undefined, NOW + 1, STALL_MS, undefined, undefined, undefined, null, random)?.id ?? "")).toBe(1);
  });

  it("a retry whose level is used up goes on to the next level", () => {
    const s = stateOf([{ priority: 0, healthy: 1 }, { priority: 1, healthy: 1 }]);
    expect(pickLocal(s, new Set(["0-0"]), NOW, STALL_MS, undefined, undefined, undefined, null, () => 0)?.id).toBe("1-0");
  });

  for (const kind of BALANCER_KINDS) {
    it(`${kind}: a retry that used up the request's zone stays in its level while the level has an untried instance`, () => {
      // Level 0: zone a (one instance), zone b (three); level 1: a standby of three. Both levels fully healthy.
      const s = stateOf([{ priority: 0, zone: "a", healthy: 1 }, { priority: 0, zone: "b", healthy: 3 }, { priority: 1, zone: "b", healthy: 3 }], kind);
      const target = { mode: "zone", zone: zoneKey("a"), minHealthyFraction: 0.5 } as const;
      const random = seededRandom(13);
      for (let i = 0; i < 200; i++) {
        // The first try (zone a's only instance) answered 503: tried, not marked down.
        const retry = pickLocal(s, new Set(["0-0"]), NOW, STALL_MS, `k${i}`, undefined, undefined, target, random);
        expect(retry?.id).toMatch(/^1-/);
      }
    });
  }

  it("panic routes to every member regardless of level, with locality too", () => {
    // Nothing healthy and panic on: the snapshot holds every active member. The levels must not narrow it.
    const members = membersOf([{ priority: 0, zone: "a", healthy: 0, unhealthy: 2 }, { priority: 1, zone: "a", healthy: 0, unhealthy: 2 }]);
    const s = newLocalServiceState(buildSnapshot(members, "svc", 1, true, T0), "coordinator", "random", T0, seededRandom(3));
    expect(s.snapshot.panic).toBe(true);
    const target = { mode: "zone", zone: zoneKey("a"), minHealthyFraction: 0.5 } as const;
    const random = seededRandom(17);
    const levels = new Set<number>();
    for (let i = 0; i < 100; i++) levels.add(specOf(pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, target, random)?.id ?? ""));
    expect(levels).toEqual(new Set([0, 1]));
  });

  it("a new snapshot version rebuilds the grouping", () => {
    const s = stateOf([{ priority: 0, healthy: 1 }, { priority: 1, healthy: 1 }]);
    expect(pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, null, () => 0.99)?.id).toBe("0-0");
    adoptSnapshot(s, { ...snapshotOf([{ priority: 0, healthy: 0, unhealthy: 1 }, { priority: 1, healthy: 1 }]), version: 2 }, "coordinator", NOW);
    expect(pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, null, () => 0)?.id).toBe("1-0");
  });
});

describe("properties (every balancer kind)", () => {
  const specsArb = fc.array(
    fc.record({
      priority: fc.integer({ min: 0, max: 3 }),
      zone: fc.constantFrom("a", "b", null),
      healthy: fc.integer({ min: 0, max: 3 }),
      unhealthy: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 6 },
  );

  it("never picks an unhealthy or absent instance, nor a marked one while an unmarked one is untried", () => {
    fc.assert(
      fc.property(
        specsArb,
        fc.constantFrom(...BALANCER_KINDS),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.option(fc.constantFrom("a", "b", "c"), { nil: null }),
        fc.integer(),
        (specs, kind, markAt, zone, seed) => {
          const s = stateOf(specs, kind, seed);
          const routable = s.snapshot.instances.map((i) => i.id);
          const marked = new Set(markAt.map((k) => routable[k % Math.max(1, routable.length)] ?? ""));
          for (const id of marked) markDown(s, id, NOW);
          const target = zone === null ? null : ({ mode: "zone", zone: zoneKey(zone), minHealthyFraction: 0.5 } as const);
          const random = seededRandom(seed);
          for (let i = 0; i < 30; i++) {
            const picked = pickLocal(s, undefined, NOW + 1, STALL_MS, `k${i}`, undefined, undefined, target, random);
            if (routable.length === 0) {
              expect(picked).toBeUndefined();
              continue;
            }
            expect(routable).toContain(picked?.id);
            if (routable.some((id) => !marked.has(id))) expect(marked.has(picked?.id ?? "")).toBe(false);
          }
        },
      ),
    );
  });

  it("the share of picks per level follows Envoy's priority load (fixed seed, statistical bound)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }).chain((total) => fc.record({ total: fc.constant(total), healthy: fc.integer({ min: 0, max: total }) })), {
          minLength: 2,
          maxLength: 4,
        }),
        (levels) => {
          fc.pre(levels.some((l) => levelHealth(l) > 0));
          const specs = levels.map((l, p) => ({ priority: p, healthy: l.healthy, unhealthy: l.total - l.healthy }));
          const s = stateOf(specs, "random");
          const loads = priorityLoads(levels);
          const random = seededRandom(11);
          const counts = levels.map(() => 0);
          const n = 4_000;
          for (let i = 0; i < n; i++) {
            const level = specOf(pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, null, random)?.id ?? "");
            counts[level] = (counts[level] ?? 0) + 1;
          }
          // 4,000 draws: a share's standard deviation is under 0.8 %; 4 % is five of them.
          loads.forEach((load, p) => expect(Math.abs((counts[p] ?? 0) / n - load / 100)).toBeLessThan(0.04));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("peak_ewma under locality", () => {
  it("a slow instance seen from one zone stays avoided after picks in other zones", () => {
    // Seven zones of two: a zone's request hands peak_ewma a list of two. Every instance answers in 50 ms
    // but 0-0, which took 5 s; the default for an instance never seen is 30 ms, cheaper than 50.
    const specs = Array.from({ length: 7 }, (_, k) => ({ zone: `z${k}`, healthy: 2 }));
    const s = newLocalServiceState(snapshotOf(specs), "coordinator", "peak_ewma", T0, seededRandom(21), () => NOW);
    for (const i of s.snapshot.instances) recordLatency(s, i.id, i.id === "0-0" ? 5_000 : 50, NOW);
    const random = seededRandom(22);
    for (let i = 0; i < 200; i++) {
      const zone = `z${1 + (i % 6)}`;
      pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, { mode: "zone", zone: zoneKey(zone), minHealthyFraction: 0.5 }, random);
      // A request whose zone has no instance spills over to the whole level.
      const picked = pickLocal(s, undefined, NOW, STALL_MS, undefined, undefined, undefined, { mode: "zone", zone: zoneKey("elsewhere"), minHealthyFraction: 0.5 }, random);
      expect(picked?.id).not.toBe("0-0");
    }
  });
});
