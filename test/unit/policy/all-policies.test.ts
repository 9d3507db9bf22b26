import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BALANCER_KINDS } from "../../../src/core/balance/index.js";
import { markDown, pickLocal, tryStarted } from "../../../src/core/local-health/local-pick.js";
import { newLocalServiceState } from "../../../src/core/local-health/local-service-state.js";
import { zoneKey } from "../../../src/core/policy/locality.js";
import type { TrafficPolicy } from "../../../src/core/policy/traffic-view.js";
import { seededRandom } from "../seeded-random.js";
import { request } from "./fixtures.js";
import { snapshotOf, T0, type MemberSpec } from "./pool-fixtures.js";

/**
 * Every narrowing step at once (a split with a header and a percent rule,
 * priority levels, zone locality), with local marks, stalls and a retry's
 * tried set, for every balancer kind: what a pick may return.
 */
const NOW = T0 + 1;
const STALL_MS = 250;

const specsArb: fc.Arbitrary<MemberSpec[]> = fc.array(
  fc.record({
    priority: fc.constantFrom(0, 1),
    zone: fc.constantFrom("a", "b", null),
    healthy: fc.integer({ min: 0, max: 3 }),
    unhealthy: fc.integer({ min: 0, max: 2 }),
  }),
  { minLength: 1, maxLength: 5 },
);

describe("all traffic policies together (fast-check)", () => {
  it("picks an untried routable instance, and a marked or stalled one only when every untried one is", () => {
    fc.assert(
      fc.property(
        specsArb,
        fc.constantFrom(...BALANCER_KINDS),
        fc.record({ marked: fc.array(fc.nat(), { maxLength: 4 }), stalled: fc.array(fc.nat(), { maxLength: 2 }), tried: fc.array(fc.nat(), { maxLength: 3 }) }),
        fc.option(fc.constantFrom("a", "b"), { nil: null }),
        fc.boolean(),
        fc.integer({ min: 1, max: 100 }),
        fc.integer(),
        (specs, kind, at, zone, header, percent, seed) => {
          const snapshot = snapshotOf(specs);
          // Every third instance is the canary.
          snapshot.instances = snapshot.instances.map((i, k) => ({ ...i, labels: { version: k % 3 === 0 ? "v2" : "v1" } }));
          const s = newLocalServiceState(snapshot, "coordinator", kind, T0, seededRandom(seed), () => NOW);
          const routable = snapshot.instances.map((i) => i.id);
          const nth = (k: number): string | undefined => routable[k % Math.max(1, routable.length)];
          const avoided = new Set<string>();
          for (const id of at.marked.map(nth)) {
            if (id === undefined) continue;
            markDown(s, id, NOW);
            avoided.add(id);
          }
          for (const id of at.stalled.map(nth)) {
            if (id === undefined) continue;
            tryStarted(s, id, NOW - 10 * STALL_MS);
            avoided.add(id);
          }
          const tried = new Set(at.tried.flatMap((k) => nth(k) ?? []));
          const traffic: TrafficPolicy = {
            split: [
              { match: { header: { "x-canary": "1" } }, to: { version: "v2" } },
              { percent, to: { version: "v2" } },
            ],
            slowStartSeconds: 0,
          };
          const target = zone === null ? null : ({ mode: "zone", zone: zoneKey(zone), minHealthyFraction: 0.5 } as const);
          const untried = routable.filter((id) => !tried.has(id));
          const random = seededRandom(seed);
          for (let i = 0; i < 20; i++) {
            const req = request(traffic, header ? { "x-canary": "1" } : {});
            const picked = pickLocal(s, tried, NOW + 1, STALL_MS, `k${i}`, undefined, req, target, random)?.id;
            if (untried.length === 0) {
              expect(picked).toBeUndefined();
              continue;
            }
            expect(untried).toContain(picked);
            if (untried.some((id) => !avoided.has(id))) expect(avoided.has(picked ?? "")).toBe(false);
          }
        },
      ),
      { numRuns: 1000, seed: 17 },
    );
  });
});
