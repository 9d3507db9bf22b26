import { describe, expect, it } from "vitest";
import { predictRoutersRun } from "../../../scripts/scale/measure/compare.mjs";
import { sharedRefreshRate } from "../../../scripts/scale/model/shared-refresh.mjs";

describe("model against a measured N-router run", () => {
  it("sharing off, lockstep arrivals: each router refreshes once per TTL + RPC + half a tick", () => {
    // 2 routers at 25 req/s: 2 / (1 + 0.002 + 0.02).
    const p = predictRoutersRun({ routers: 2, sharing: "off", ratePerRouter: 25, arrivals: "lockstep", measuredSnapshotRpcsPerS: 2 });
    expect(p.model).toBeCloseTo(2 / 1.022, 9);
    expect(p.ratio).toBeCloseTo(1.022, 9);
    expect(p.agrees).toBe(true);
    expect(p.inDrawRange).toBeNull();
  });

  it("sharing off, Poisson arrivals: the mean wait for a request is 1/λ", () => {
    const p = predictRoutersRun({ routers: 4, sharing: "off", ratePerRouter: 10, arrivals: "poisson", measuredSnapshotRpcsPerS: 2 });
    expect(p.model).toBeCloseTo(4 / 1.102, 9);
    // Half the model: more than 20 % off.
    expect(p.agrees).toBe(false);
  });

  it("sharing on, Poisson: the integral, with the spread of single lead draws around it", () => {
    const run = { routers: 8, sharing: "cache" as const, ratePerRouter: 10, arrivals: "poisson" as const, measuredSnapshotRpcsPerS: 1.4 };
    const p = predictRoutersRun(run);
    // Window: a 2 ms in-process RPC, four 1 ms cache calls and the claim's 20 ms settle wait.
    expect(p.model).toBe(sharedRefreshRate({ isolates: 8, rate: 10, ttlS: 1, spreadS: 0.3, windowS: 0.026 }).rpcsPerS);
    expect(p.p10).toBeLessThan(p.model);
    expect(p.p90).toBeGreaterThan(p.model);
    expect(p.inDrawRange).toBe(p.p10 <= 1.4 && 1.4 <= p.p90);
  });

  it("sharing on, lockstep: isolates due in one tick follow one claim, so one asker a cycle whatever the draw", () => {
    const base = { routers: 8, sharing: "cache" as const, ratePerRouter: 25, measuredSnapshotRpcsPerS: 1.38 };
    const lockstep = predictRoutersRun({ ...base, arrivals: "lockstep" });
    // A cycle: TTL − the longest lead + the wait for a tick (at most 40 ms) + the window (26 ms).
    expect(lockstep.p10).toBeGreaterThan(1 / (1 + 0.04 + 0.026));
    expect(lockstep.p90).toBeLessThan(1 / (1 - 0.3 + 0.026));
    expect(lockstep.agrees).toBe(true);
    // Deterministic: the simulation is seeded.
    expect(predictRoutersRun({ ...base, arrivals: "lockstep" })).toEqual(lockstep);
  });
});
