import { describe, expect, it } from "vitest";
import {
  DEFAULT_INPUTS,
  coordinatorLoad,
  deadOriginTimes,
  kvPerDay,
  leasedSlotRate,
  pickBatchRate,
  reportRate,
  requestDrivenRefreshRate,
  staleness,
  subrequests,
  triesPerRequest,
  type ScaleInputs,
} from "../../../scripts/scale/model/model.mjs";

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

  it("leased slots: a new lease when the block is used up or expires", () => {
    // 100 picks/s, 64 slots, 1 s: block used up after 0.64 s, next pick 0.01 s later.
    expect(leasedSlotRate(100, 64, 1)).toBeCloseTo(1 / 0.65, 9);
    // 10 picks/s: the lease expires first (1 s), next pick 0.1 s later.
    expect(leasedSlotRate(10, 64, 1)).toBeCloseTo(1 / 1.1, 9);
  });

  it("reports: one per flush window per service, windows cut short at 256 outcomes", () => {
    const one = reportRate(10, 10, 0);
    expect(one.windowS).toBe(1);
    expect(one.reportsPerS).toBeCloseTo(1 / 1.1, 9);
    const busy = reportRate(1000, 1000, 0);
    expect(busy.windowS).toBeCloseTo(0.256, 9);
    expect(busy.reportsPerS).toBeCloseTo(1 / 0.257, 9);
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
    // Shared refresh: one per location, 50 req/s there: 2 / (1 + 0.02 + 0.02).
    expect(load.byDesign.sharedRefresh.snapshotRefresh).toBeCloseTo(2 / 1.04, 9);
    expect(load.byDesign.strict.snapshotRefresh).toBe(0);
    expect(load.byDesign.strict.strictLeases).toBeCloseTo(10 * pickBatchRate(10, 0.02, 64), 9);
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
    expect(staleness(SMALL)).toEqual({ busyMs: 1_020, slowCoordinatorMs: 2_500, unreachableMs: 30_000, sharedBusyMs: 2_020 });
  });

  it("times a dead origin out of rotation, passive when traffic is enough", () => {
    // 100 req/s over 3 instances: 6.7 tries in 200 ms ≥ 5 consecutive failures.
    const busy = deadOriginTimes({ ...SMALL, perTryTimeoutMs: 1_000 });
    expect(busy.passiveEjection).toBe(true);
    expect(busy.localKillMs).toBe(0);
    expect(busy.localHangMs).toBe(250);
    expect(busy.everywhereKillMs).toBe(200 + 20 + 1_000 + 20);
    expect(busy.everywhereHangMs).toBe(1_000 + 200 + 20 + 1_000 + 20);
    expect(busy.everywhereKillSharedMs).toBe(200 + 20 + 2_000 + 20);
    // 10 req/s: 0.67 tries in 200 ms; the confirming probe plus one more round decides.
    const quiet = deadOriginTimes({ ...SMALL, rps: 10 });
    expect(quiet.passiveEjection).toBe(false);
    expect(quiet.everywhereKillMs).toBe(200 + 20 + 10_000 + 1_000 + 20);
    expect(quiet.idleServiceMs).toBe(2 * 10_000 + 2_000 + 1_000 + 20);
    // Plenty of traffic but one isolate: it stops after its first failure, so passive ejection never gets 5 in a row.
    expect(deadOriginTimes({ ...SMALL, locations: 1, isolatesPerLocation: 1, rps: 10_000 }).passiveEjection).toBe(false);
  });
});
