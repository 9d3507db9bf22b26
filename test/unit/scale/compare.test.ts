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
    expect(p.model).toBe(sharedRefreshRate({ isolates: 8, rate: 10, ttlS: 1, spreadS: 0.3, windowS: 0.003 }).rpcsPerS);
    expect(p.p10).toBeLessThan(p.model);
    expect(p.p90).toBeGreaterThan(p.model);
    expect(p.inDrawRange).toBe(p.p10 <= 1.4 && 1.4 <= p.p90);
  });

  it("sharing on, lockstep: a wider range than Poisson, since isolates due in one tick all ask", () => {
    const base = { routers: 8, sharing: "cache" as const, ratePerRouter: 25, measuredSnapshotRpcsPerS: 2.75 };
    const lockstep = predictRoutersRun({ ...base, arrivals: "lockstep" });
    const poisson = predictRoutersRun({ ...base, arrivals: "poisson" });
    expect(lockstep.model).toBeGreaterThan(poisson.model);
    expect(lockstep.p90 - lockstep.p10).toBeGreaterThan(poisson.p90 - poisson.p10);
    // Deterministic: the simulation is seeded.
    expect(predictRoutersRun({ ...base, arrivals: "lockstep" })).toEqual(lockstep);
  });
});
