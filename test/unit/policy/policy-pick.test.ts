import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BalancerConfig } from "../../../src/core/balance/index.js";
import { markDown, pickLocal } from "../../../src/core/local-health/local-pick.js";
import { adoptSnapshot, newLocalServiceState, type LocalServiceState } from "../../../src/core/local-health/local-service-state.js";
import type { TrafficPolicy } from "../../../src/core/policy/traffic-view.js";
import type { Snapshot } from "../../../src/core/snapshot.js";
import { seededRandom } from "../seeded-random.js";
import { inst, request, snap, T0 } from "./fixtures.js";

/**
 * The narrowing step in pickLocal (src/core/local-health/local-pick.ts) with
 * the traffic policies on: pins, the draining list, split groups and slow
 * start, over the real balancers.
 */
const STALL_MS = 250;
const v1 = [inst("a", { version: "v1" }), inst("b", { version: "v1" })];
const v2 = [inst("c", { version: "v2" })];
const drainingD = { ...inst("d", { version: "v1" }), pinUntil: T0 + 10_000 };
const AFFINITY: TrafficPolicy = { affinity: { mode: "cookie", name: "__mesh_affinity", ttlSeconds: 60 }, slowStartSeconds: 0 };
const CANARY: TrafficPolicy = { split: [{ match: { header: { "x-canary": "1" } }, to: { version: "v2" } }], slowStartSeconds: 0 };

function local(s: Snapshot, balancer: BalancerConfig = "round_robin"): LocalServiceState {
  return newLocalServiceState(s, "coordinator", balancer, T0, () => 0);
}

function picks(state: LocalServiceState, traffic: TrafficPolicy, n: number, headers: Record<string, string> = {}, pinned: string | null = null, now = T0): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pickLocal(state, undefined, now, STALL_MS, undefined, undefined, request(traffic, headers, pinned), null, seededRandom(i + 1))?.id ?? "none");
  return out;
}

describe("affinity in pickLocal", () => {
  it("sends every request of a pinned session to its instance while it is healthy", () => {
    const state = local(snap([...v1, ...v2]));
    expect(new Set(picks(state, AFFINITY, 100, {}, "b"))).toEqual(new Set(["b"]));
    // Unpinned requests rotate as usual.
    expect(new Set(picks(state, AFFINITY, 6))).toEqual(new Set(["a", "b", "c"]));
  });

  it("re-picks when the pinned instance is gone from the snapshot, marked down here, or already tried", () => {
    const state = local(snap([...v1, ...v2]));
    adoptSnapshot(state, { ...snap([inst("a"), inst("c")]), version: 2 }, "coordinator", T0);
    expect(picks(state, AFFINITY, 4, {}, "b")).not.toContain("b");
    markDown(state, "a", T0);
    expect(picks(state, AFFINITY, 4, {}, "a")).not.toContain("a");
    expect(pickLocal(state, new Set(["c"]), T0, STALL_MS, undefined, undefined, request(AFFINITY, {}, "c"))?.id).not.toBe("c");
  });

  it("keeps a pinned session on a draining instance until its pinUntil, and never gives it a new one", () => {
    const state = local(snap([...v1], [drainingD]));
    expect(new Set(picks(state, AFFINITY, 20, {}, "d", T0 + 9_999))).toEqual(new Set(["d"]));
    expect(picks(state, AFFINITY, 20, {}, "d", T0 + 10_000)).not.toContain("d");
    expect(picks(state, AFFINITY, 50)).not.toContain("d");
  });

  it("lets a matching header rule take a pinned request to the canary", () => {
    const both: TrafficPolicy = { ...AFFINITY, ...CANARY };
    const state = local(snap([...v1, ...v2]));
    expect(new Set(picks(state, both, 10, { "x-canary": "1" }, "a"))).toEqual(new Set(["c"]));
    // A session pinned to the canary stays there with the header, and without it (pins win over percent and the rest).
    expect(new Set(picks(state, both, 10, { "x-canary": "1" }, "c"))).toEqual(new Set(["c"]));
    expect(new Set(picks(state, both, 10, {}, "c"))).toEqual(new Set(["c"]));
  });
});

describe("split in pickLocal", () => {
  it("routes the header rule's requests to the canary and the others to the rest", () => {
    const state = local(snap([...v1, ...v2]));
    expect(new Set(picks(state, CANARY, 10, { "x-canary": "1" }))).toEqual(new Set(["c"]));
    expect(new Set(picks(state, CANARY, 12))).toEqual(new Set(["a", "b", "c"]));
  });

  it("fails a canary request over to the rest when the canary was tried", () => {
    const state = local(snap([...v1, ...v2]));
    const req = request(CANARY, { "x-canary": "1" });
    expect(pickLocal(state, undefined, T0, STALL_MS, undefined, undefined, req)?.id).toBe("c");
    expect(["a", "b"]).toContain(pickLocal(state, new Set(["c"]), T0, STALL_MS, undefined, undefined, req)?.id);
  });

  it("sends a group whose every instance is marked down here to the rest, as it does an unhealthy one", () => {
    // A refused connection marks the canary down at once; the coordinator learns of it seconds later. Until then
    // the rule's requests went to the one instance this router knew to be down: a GET paid a failed try, and a
    // POST, which a refused connection does not retry (it reads as a reset), was answered 502.
    const all: TrafficPolicy = { split: [{ percent: 100, to: { version: "v2" } }], slowStartSeconds: 0 };
    for (const [traffic, headers] of [
      [all, {}],
      [CANARY, { "x-canary": "1" }],
    ] as const) {
      for (const kind of ["round_robin", "weighted_round_robin", "random", "least_request", "peak_ewma", { kind: "maglev", hashOn: "path" }] as const) {
        const state = local(snap([...v1, ...v2]), kind);
        markDown(state, "c", T0);
        const ids = picks(state, traffic, 20, headers);
        expect(ids, JSON.stringify(kind)).not.toContain("c");
        expect(ids.filter((id) => id !== "a" && id !== "b"), JSON.stringify(kind)).toEqual([]);
        // Once the mark has run out, the group has its instance back.
        expect(new Set(picks(state, traffic, 10, headers, null, T0 + 60_000))).toEqual(new Set(["c"]));
      }
    }
  });

  it("still picks a marked instance when every instance is marked: a degraded answer beats none", () => {
    const state = local(snap([...v1, ...v2]));
    for (const id of ["a", "b", "c"]) markDown(state, id, T0);
    expect(new Set(picks(state, CANARY, 10, { "x-canary": "1" }))).toEqual(new Set(["c"]));
  });

  it("a hash kind keeps one table for the snapshot and maps keys within the group", () => {
    const five: TrafficPolicy = { split: [{ percent: 50, to: { version: "v2" } }], slowStartSeconds: 0 };
    const state = local(snap([...v1, ...v2, inst("e", { version: "v2" })]), { kind: "maglev", hashOn: { header: "x-user" } });
    for (let i = 0; i < 200; i++) {
      const req = request(five);
      const id = pickLocal(state, undefined, T0, STALL_MS, `user-${i}`, undefined, req, null, seededRandom(i + 1))?.id ?? "none";
      expect(req.splitGroup === 0 ? ["c", "e"] : ["a", "b"]).toContain(id);
    }
    // The view hands hash kinds the snapshot's own list, so the Maglev table is built once per version.
    expect(state.traffic?.base).toBe(state.snapshot.instances);
  });
});

describe("slow start in pickLocal", () => {
  it("ramps a weighted kind's new instance and reuses the view between steps", () => {
    const ramping: TrafficPolicy = { slowStartSeconds: 60 };
    const hosts = [inst("new", {}, { healthySince: T0 }), inst("old", {}, { healthySince: T0 - 120_000 })];
    const state = local(snap(hosts), "weighted_round_robin");
    const first = picks(state, ramping, 110, {}, null, T0);
    // Weights 0.1 : 1 under smooth WRR: 10 of 110.
    expect(first.filter((id) => id === "new").length).toBe(10);
    const view = state.traffic;
    picks(state, ramping, 1, {}, null, T0 + 2_999);
    expect(state.traffic).toBe(view);
    picks(state, ramping, 1, {}, null, T0 + 3_000);
    expect(state.traffic).not.toBe(view);
    const later = picks(state, ramping, 100, {}, null, T0 + 60_000);
    expect(later.filter((id) => id === "new").length).toBe(50);
  });
});

describe("properties (fast-check)", () => {
  const kinds: BalancerConfig[] = ["round_robin", "weighted_round_robin", "random", "least_request", "peak_ewma", { kind: "ring_hash", hashOn: "path" }];

  it("never picks an instance absent from the snapshot, nor a draining one for an unpinned or expired pin", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f"), { minLength: 0, maxLength: 6 }),
        fc.constantFrom(...kinds),
        fc.constantFrom(null, "a", "d", "x"),
        fc.boolean(),
        fc.integer(),
        (ids, kind, pinned, canary, seed) => {
          const instances = ids.filter((id) => id !== "d").map((id) => inst(id, { version: id < "c" ? "v1" : "v2" }, { healthySince: T0 - 1_000 }));
          const state = local(snap(instances, [drainingD]), kind);
          const traffic: TrafficPolicy = {
            affinity: { mode: "header", name: "x-mesh-affinity", ttlSeconds: 60 },
            split: [
              { match: { header: { "x-canary": "1" } }, to: { version: "v2" } },
              { percent: 30, to: { version: "v2" } },
            ],
            slowStartSeconds: 30,
          };
          const random = seededRandom(seed);
          for (const now of [T0, T0 + 20_000]) {
            const req = request(traffic, canary ? { "x-canary": "1" } : {}, pinned);
            const picked = pickLocal(state, undefined, now, STALL_MS, `k${seed}`, undefined, req, null, random);
            const live = instances.map((i) => i.id);
            const drainingOk = pinned === "d" && now < drainingD.pinUntil;
            if (picked === undefined) expect(live.length === 0 && !drainingOk).toBe(true);
            else expect(live.includes(picked.id) || (picked.id === "d" && drainingOk)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
