import { describe, expect, it } from "vitest";
import type { BalancerConfig } from "../../../src/core/balance/index.js";
import { pickLocal } from "../../../src/core/local-health/local-pick.js";
import { newLocalServiceState } from "../../../src/core/local-health/local-service-state.js";
import { zoneKey, type LocalityTarget } from "../../../src/core/policy/locality.js";
import type { TrafficPolicy } from "../../../src/core/policy/traffic-view.js";
import { seededRandom } from "../seeded-random.js";
import { inst, request, snap, T0 } from "./fixtures.js";

/**
 * The traffic policies (split, slow start) together with priority levels or
 * locality: the narrowing steps compose, none undoes another.
 */
const STALL_MS = 250;
const tally = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());

describe("split with priority levels", () => {
  const hosts = [
    inst("a", { version: "v1" }, { priority: 0 }),
    inst("b", { version: "v1" }, { priority: 0 }),
    inst("c", { version: "v2" }, { priority: 0 }),
    inst("s1", { version: "v1" }, { priority: 1 }),
    inst("s2", { version: "v2" }, { priority: 1 }),
  ];
  const split: TrafficPolicy = { split: [{ percent: 20, to: { version: "v2" } }], slowStartSeconds: 0 };
  const kinds: BalancerConfig[] = ["round_robin", "random", { kind: "ring_hash", hashOn: "path" }, { kind: "maglev", hashOn: "path" }];

  for (const kind of kinds) {
    it(`${typeof kind === "string" ? kind : kind.kind}: a healthy primary level keeps every request of every group; standby gets none`, () => {
      const state = newLocalServiceState(snap(hosts), "coordinator", kind, T0, () => 0);
      const random = seededRandom(11);
      const ids: string[] = [];
      for (let i = 0; i < 400; i++) ids.push(pickLocal(state, undefined, T0, STALL_MS, `k${i}`, undefined, request(split), null, random)?.id ?? "none");
      const got = tally(ids);
      expect(got.get("s1") ?? 0).toBe(0);
      expect(got.get("s2") ?? 0).toBe(0);
      // Both groups still get their share within the primary level.
      expect(got.get("c") ?? 0).toBeGreaterThan(40);
      expect((got.get("a") ?? 0) + (got.get("b") ?? 0)).toBeGreaterThan(240);
    });
  }
});

describe("slow start with priority levels or locality", () => {
  const ramping: TrafficPolicy = { slowStartSeconds: 60 };
  const near: LocalityTarget = { mode: "zone", zone: zoneKey("eu"), minHealthyFraction: 0.5 };

  it("ramps a new primary instance as it would without a standby level", () => {
    const hosts = [
      inst("new", {}, { healthySince: T0, priority: 0 }),
      inst("old", {}, { healthySince: T0 - 120_000, priority: 0 }),
      inst("standby", {}, { healthySince: T0 - 120_000, priority: 1 }),
    ];
    const state = newLocalServiceState(snap(hosts), "coordinator", "weighted_round_robin", T0, () => 0);
    const ids: string[] = [];
    for (let i = 0; i < 110; i++) ids.push(pickLocal(state, undefined, T0, STALL_MS, undefined, undefined, request(ramping), null, seededRandom(i + 1))?.id ?? "none");
    // Weights 0.1 : 1 under smooth WRR: 10 of 110, none to standby.
    expect(tally(ids).get("new")).toBe(10);
    expect(tally(ids).get("standby")).toBeUndefined();
  });

  it("ramps a new instance in the request's zone", () => {
    const hosts = [
      { ...inst("new", {}, { healthySince: T0 }), zone: "eu" },
      { ...inst("old", {}, { healthySince: T0 - 120_000 }), zone: "eu" },
      { ...inst("us", {}, { healthySince: T0 - 120_000 }), zone: "us" },
    ];
    const state = newLocalServiceState(snap(hosts), "coordinator", "weighted_round_robin", T0, () => 0);
    const ids: string[] = [];
    for (let i = 0; i < 110; i++) ids.push(pickLocal(state, undefined, T0, STALL_MS, undefined, undefined, request(ramping), near, seededRandom(i + 1))?.id ?? "none");
    expect(tally(ids).get("new")).toBe(10);
    expect(tally(ids).get("us")).toBeUndefined();
  });
});
