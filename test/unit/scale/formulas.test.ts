import { describe, expect, it } from "vitest";
import {
  DEFAULT_INPUTS,
  coordinatorLoad,
  deadOriginTimes,
  kvPerDay,
  leaseBlockSize,
  leasedSlotRate,
  pickBatchRate,
  reportRate,
  requestDrivenRefreshRate,
  sharedRefreshRate,
  staleness,
  subrequests,
  triesPerRequest,
  type ScaleInputs,
} from "../../../scripts/scale/model/model.mjs";
import { claimWindowS, followerLagMs, seededRandom, simulateSharedRefresh } from "../../../scripts/scale/model/shared-refresh.mjs";

/** A small configuration whose numbers are easy to follow by hand. */
const SMALL: ScaleInputs = {
  ...DEFAULT_INPUTS,
  locations: 2,
  isolatesPerLocation: 5,
  rps: 100,
  services: 1,
  instancesPerService: 3,
  healthIntervalS: 10,
  leaseTtlS: 30,
  doRttMs: 20,
  instanceLifetimeH: 1,
  failureRate: 0,
  attempts: 3,
};

describe("rate formulas, against hand computations", () => {
  it("a request-driven refresh runs once per TTL + latency + mean wait for the next request", () => {
    // 1 / (1 + 0.02 + 1/10) = 1 / 1.12
    expect(requestDrivenRefreshRate(1, 0.02, 10)).toBeCloseTo(0.892857, 5);
    expect(requestDrivenRefreshRate(1, 0.02, 0)).toBe(0);
  });

  it("strict pick batches: one RPC per pick when idle, one per round trip when busy, capped by the batch size", () => {
    // cycle = 0.1 + e^-1 / 10 = 0.136788 s
    expect(pickBatchRate(10, 0.1, 64)).toBeCloseTo(7.3106, 3);
    // Almost idle: nearly every pick is its own RPC.
    expect(pickBatchRate(0.01, 0.02, 64)).toBeCloseTo(0.01, 4);
    // 10,000 picks/s over a 100 ms round trip would make 1,000-pick batches; 64 per RPC means 156.25 RPCs/s.
    expect(pickBatchRate(10_000, 0.1, 64)).toBeCloseTo(156.25, 6);
  });

  it("leased slots: blocks of ceil(λ × 250 ms) within 1..256, one RPC per block", () => {
    expect(leaseBlockSize(0.5)).toBe(1);
    expect(leaseBlockSize(4)).toBe(1);
    expect(leaseBlockSize(4.1)).toBe(2);
    expect(leaseBlockSize(200)).toBe(50);
    expect(leaseBlockSize(1_024)).toBe(256);
    expect(leaseBlockSize(5_000)).toBe(256);
    // Below 4 picks/s every pick asks for its own slot.
    expect(leasedSlotRate(2)).toBe(2);
    expect(leasedSlotRate(4)).toBe(4);
    // Just above: blocks of 2, half as many RPCs as picks.
    expect(leasedSlotRate(4.1)).toBeCloseTo(2.05, 12);
    // A busy isolate: about four a second.
    expect(leasedSlotRate(200)).toBe(4);
    expect(leasedSlotRate(203)).toBeCloseTo(203 / 51, 12);
    // Past 1,024 picks/s the 256-slot cap sets the rate.
    expect(leasedSlotRate(2_048)).toBe(8);
    expect(leasedSlotRate(0)).toBe(0);
  });

  it("shared refresh, one isolate: it asks every TTL minus its mean lead, plus its wait and the window", () => {
    // 1 / (1 − 0.3/2 + 1/10 + 0.02) = 1 / 0.97
    const one = sharedRefreshRate({ isolates: 1, rate: 10, ttlS: 1, spreadS: 0.3, windowS: 0.02 });
    expect(one.askersPerCycle).toBeCloseTo(1, 4);
    expect(one.rpcsPerS).toBeCloseTo(1 / 0.97, 4);
    // No spread: exactly the unshared request-driven refresh.
    expect(sharedRefreshRate({ isolates: 1, rate: 10, ttlS: 1, spreadS: 0, windowS: 0.02 }).rpcsPerS).toBeCloseTo(requestDrivenRefreshRate(1, 0.02, 10), 4);
    expect(sharedRefreshRate({ isolates: 50, rate: 0, ttlS: 1, spreadS: 0.3, windowS: 0.02 }).rpcsPerS).toBe(0);
  });

  it("shared refresh, two busy isolates: the longer lead claims and asks, the other adopts its copy", () => {
    // Waits ~0: the first asks at TTL − max(lead) (mean max of two U(0, 0.3) is 0.2); however close the other's
    // lead, it follows the claim. 1 / (1 − 0.2 + 0.03).
    const busy = sharedRefreshRate({ isolates: 2, rate: 1e6, ttlS: 1, spreadS: 0.3, windowS: 0.03 });
    expect(busy.askersPerCycle).toBe(1);
    expect(busy.cycleS).toBeCloseTo(0.83, 3);
    expect(busy.rpcsPerS).toBeCloseTo(1 / 0.83, 3);
  });

  it("shared refresh: more busy isolates only lengthen the longest lead (n / (n + 1) of the spread), never add askers", () => {
    for (const isolates of [2, 8, 50, 1_000]) {
      const r = sharedRefreshRate({ isolates, rate: 1e6, ttlS: 1, spreadS: 0.3, windowS: 0.03 });
      expect(r.cycleS, `${isolates} isolates`).toBeCloseTo(1 - (0.3 * isolates) / (isolates + 1) + 0.03, 3);
    }
  });

  it("shared refresh's window: the claim's four cache calls and settle wait, then the round trip", () => {
    expect(claimWindowS({ rttS: 0.02, cacheOpS: 0.001, settleS: 0.02 })).toBeCloseTo(0.044, 12);
  });

  it("shared refresh: a follower adopts at the first poll point after the copy lands, or in the second round", () => {
    const p = { cacheOpMs: 1, settleMs: 20, pollsMs: [30, 60, 100, 150, 250, 400] };
    // Lands at 3 + 20 + 5 = 28 ms: the 30 ms point.
    expect(followerLagMs({ ...p, rttMs: 5 })).toBe(2 + 30 + 1);
    // Lands at 3 + 20 + 200 = 223 ms: the 250 ms point.
    expect(followerLagMs({ ...p, rttMs: 200 })).toBe(2 + 250 + 1);
    // Lands at 423 ms, after the claim's last point: the second claim (at 402 ms) reads at 402 + 30.
    expect(followerLagMs({ ...p, rttMs: 400 })).toBe(2 + 432 + 1);
  });

  it("shared refresh, a trickle of traffic: every request finds the copy stale and asks, never NaN", () => {
    // With n·λ far below one request per TTL, each request comes long after the last copy's fetch: n·λ asks a second.
    // 1 − e^(−λx) written as a plain subtraction rounded to 0 (or to a multiple of 2^-53) below λx ≈ 1e-16, which made
    // this NaN at 100,000 isolates and 1e-14 requests/s each, and 0.25 asks a second for 1e-16 requests a second.
    for (const isolates of [1, 50, 100_000]) {
      for (let e = -8; e >= -20; e--) {
        const rate = 10 ** e / isolates;
        const r = sharedRefreshRate({ isolates, rate, ttlS: 1, spreadS: 0.3, windowS: 0.021 });
        expect(r.rpcsPerS / (isolates * rate), `${isolates} isolates at ${rate}/s`).toBeCloseTo(1, 2);
        expect(r.askersPerCycle, `${isolates} isolates at ${rate}/s`).toBeCloseTo(1, 2);
      }
    }
  });

  it("shared refresh: the integral's cycle length agrees with the rule played out cycle by cycle (Poisson, 300 lead draws)", () => {
    const random = seededRandom(7);
    for (const isolates of [1, 4, 12, 50]) {
      const p = { isolates, rate: 25, ttlS: 1, spreadS: 0.3, windowS: 0.026 };
      let sum = 0;
      for (let i = 0; i < 300; i++) sum += simulateSharedRefresh({ ...p, arrivals: "poisson", cycles: 100, random });
      expect(sum / 300 / sharedRefreshRate(p).rpcsPerS).toBeGreaterThan(0.97);
      expect(sum / 300 / sharedRefreshRate(p).rpcsPerS).toBeLessThan(1.03);
    }
  });

  it("shared refresh: lockstep arrivals (every isolate's request at the same instants) only delay the first start to a tick", () => {
    const random = seededRandom(11);
    for (let i = 0; i < 50; i++) {
      const rate = simulateSharedRefresh({ isolates: 8, rate: 25, ttlS: 1, spreadS: 0.3, windowS: 0.026, arrivals: "lockstep", cycles: 100, random });
      // One asker a cycle; a cycle lasts TTL − the longest lead + at most one tick + the window.
      expect(rate).toBeGreaterThan(1 / (1 + 0.04 + 0.026));
      expect(rate).toBeLessThan(1 / (1 - 0.3 + 0.026));
    }
  });

  it("reports: one per flush window per service, whatever the isolate's rate (outcomes are folded per instance)", () => {
    const one = reportRate(10, 10, 0);
    expect(one.windowS).toBe(1);
    expect(one.reportsPerS).toBeCloseTo(1 / 1.1, 9);
    const busy = reportRate(1000, 1000, 0);
    expect(busy.windowS).toBe(1);
    expect(busy.reportsPerS).toBeCloseTo(1 / 1.001, 9);
    // A service with 1 of 100 tries/s in its isolate: it opened the window (1 %) or had a try in it (1 - e^-1).
    const rare = reportRate(1, 100, 0);
    expect(rare.shareInFlush).toBeCloseTo(1 - 0.99 * Math.exp(-1), 9);
    // Failures add urgent flushes, at most one per 200 ms.
    expect(reportRate(1000, 1000, 0.5).reportsPerS - busy.reportsPerS).toBeCloseTo(5, 9);
  });

  it("tries per request: every failed try retried up to attempts", () => {
    expect(triesPerRequest(0.1, 3)).toBeCloseTo(1.11, 12);
    expect(triesPerRequest(0, 3)).toBe(1);
  });
});

describe("coordinator load per service", () => {
  it("adds up each kind for a small configuration", () => {
    const load = coordinatorLoad(SMALL);
    // 10 isolates, 10 req/s each: refresh 1 / (1 + 0.02 + 0.1) per isolate.
    expect(load.byDesign.snapshot.snapshotRefresh).toBeCloseTo(10 / 1.12, 9);
    // Reports: 10 isolates × 1 / (1 + 0.1).
    expect(load.byDesign.snapshot.reports).toBeCloseTo(10 / 1.1, 9);
    // Heartbeats: 3 instances, one every 10 s.
    expect(load.byDesign.snapshot.heartbeats).toBeCloseTo(0.3, 12);
    // Registrations + deregistrations: 2 × 3 per hour.
    expect(load.byDesign.snapshot.registrations).toBeCloseTo(6 / 3600, 12);
    expect(load.byDesign.snapshot.sweep).toBeCloseTo(2 / 60, 12);
    // Shared refresh: 2 locations of 5 isolates at 10 req/s; the coordinator answers the claimer 4 cache calls of 1 ms,
    // a 20 ms settle wait and a 20 ms round trip after its refresh started.
    const perLocation = sharedRefreshRate({ isolates: 5, rate: 10, ttlS: 1, spreadS: 0.3, windowS: 0.044 }).rpcsPerS;
    expect(load.byDesign.sharedRefresh.snapshotRefresh).toBeCloseTo(2 * perLocation, 9);
    // Five isolates at 10 req/s each: well under five unshared refreshes, more than one.
    expect(perLocation).toBeGreaterThan(1);
    expect(perLocation).toBeLessThan(5 / 1.12);
    // STRICT_LEASES=off holds no snapshot; leased slots keep the shared refresh going.
    expect(load.byDesign.strict.snapshotRefresh).toBe(0);
    expect(load.byDesign.strict.strictLeases).toBeCloseTo(10 * pickBatchRate(10, 0.02, 64), 9);
    expect(load.byDesign.leasedSlots.snapshotRefresh).toBe(load.byDesign.sharedRefresh.snapshotRefresh);
    // 10 picks/s per isolate: blocks of ceil(2.5) = 3, so 10/3 lease RPCs/s each.
    expect(load.byDesign.leasedSlots.strictLeases).toBeCloseTo(10 * (10 / 3), 9);
    const s = load.byDesign.snapshot;
    expect(s.total).toBeCloseTo(s.snapshotRefresh + s.reports + s.heartbeats + s.registrations + s.sweep, 9);
  });
});

describe("KV, subrequests, staleness, dead origins", () => {
  it("counts KV operations per day", () => {
    const kv = kvPerDay(SMALL);
    const routeReads = 10 / (5 + 0.1);
    const authReads = 0.3 + 6 / 3600;
    expect(kv.reads).toBeCloseTo((routeReads + authReads) * 86_400 + 1_440, 3);
    // 3 registrations per hour, plus the route index and sweep record every minute.
    expect(kv.writes).toBeCloseTo(72 + 2 * 1_440, 6);
    expect(kv.deletes).toBeCloseTo(72, 6);
    // One list of service names and one of the service's instance keys per sweep.
    expect(kv.lists).toBe(2 * 1_440);
    expect(kv.maxWritesPerKeyPerS).toBeCloseTo(1 / 60, 12);
  });

  it("counts subrequests per client request", () => {
    const sub = subrequests(SMALL, "snapshot");
    const perIsolate = 1 / 1.12 + 1 / 1.1 + 1 / 5.1;
    expect(sub.mean).toBeCloseTo(1 + perIsolate / 10, 9);
    expect(sub.servicesPerFlush).toBeCloseTo(1, 12);
    // 3 tries, a refresh, a route read, one report.
    expect(sub.worst).toBe(6);
    expect(subrequests(SMALL, "strict").worst).toBe(9);
  });

  it("bounds snapshot staleness", () => {
    // Shared: the claimer's copy lands 3 + 20 + 20 = 43 ms after its claim (2 ms after it started); followers read it
    // at the claim's 60 ms poll point, 1 ms each.
    expect(staleness(SMALL)).toEqual({ busyMs: 1_020, busySharedMs: 1_000 + 2 + 60 + 1, slowCoordinatorMs: 2_500, unreachableMs: 30_000 });
  });

  it("times a dead origin out of rotation, passive when traffic is enough", () => {
    // 100 req/s over 3 instances: 6.7 tries in 200 ms ≥ 5 consecutive failures.
    const busy = deadOriginTimes({ ...SMALL, perTryTimeoutMs: 1_000 });
    expect(busy.passiveEjection).toBe(true);
    expect(busy.localKillMs).toBe(0);
    expect(busy.localHangMs).toBe(250);
    expect(busy.everywhereKillMs).toBe(200 + 20 + 1_000 + 20);
    expect(busy.everywhereHangMs).toBe(1_000 + 200 + 20 + 1_000 + 20);
    expect(busy.sharedExtraMs).toBe(2 + 60 + 1 - 20);
    // 10 req/s: 0.67 tries in 200 ms; the confirming probe plus one more round decides.
    const quiet = deadOriginTimes({ ...SMALL, rps: 10 });
    expect(quiet.passiveEjection).toBe(false);
    expect(quiet.everywhereKillMs).toBe(200 + 20 + 10_000 + 1_000 + 20);
    expect(quiet.idleServiceMs).toBe(2 * 10_000 + 2_000 + 1_000 + 20);
    // Plenty of traffic but one isolate: it stops after its first failure, so passive ejection never gets 5 in a row.
    expect(deadOriginTimes({ ...SMALL, locations: 1, isolatesPerLocation: 1, rps: 10_000 }).passiveEjection).toBe(false);
  });
});
