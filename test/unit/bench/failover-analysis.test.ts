import { describe, expect, it } from "vitest";
import { analyzeFailover, failoverTimeline, type RequestRecord } from "../../../scripts/bench/analysis/failover.mjs";

const T0 = 1_000_000;
const FAULT = T0 + 5_000;
const RESTORE = T0 + 15_000;

function rec(over: Partial<RequestRecord> & { sent: number }): RequestRecord {
  return { done: over.sent + 2, status: 200, origin: "origin-1", attempts: 1, error: null, reusedSocket: false, ...over };
}

function run(records: RequestRecord[], extra: Partial<Parameters<typeof analyzeFailover>[0]> = {}) {
  return analyzeFailover({
    fault: "kill",
    records,
    t0: T0,
    faultTime: FAULT,
    restoreTime: RESTORE,
    durationMs: 20_000,
    victimArrivals: [],
    states: [],
    ...extra,
  });
}

describe("analyzeFailover", () => {
  it("measures the last request that failed over during the fault, from the fault", () => {
    const a = run([
      rec({ sent: FAULT + 10, attempts: 2, done: FAULT + 14 }),
      rec({ sent: FAULT + 120, attempts: 2, done: FAULT + 125 }),
      rec({ sent: FAULT + 900 }),
    ]);
    expect(a.lastToFaultyMs).toBe(120);
    expect(a.lastToFaultyUpperBoundMs).toBe(125);
    expect(a.requestsTouchingFaultyOrigin).toBe(2);
    expect(a.retriedRequests).toBe(2);
    expect(a.clientErrors).toBe(0);
  });

  it("bounds a hang by send time, since a hung try lasts the per-try timeout", () => {
    const a = run([rec({ sent: FAULT + 240, attempts: 2, done: FAULT + 1_250 })], { fault: "hang" });
    expect(a.lastToFaultyMs).toBe(240);
    expect(a.lastToFaultyUpperBoundMs).toBe(240);
  });

  it("counts a mesh error answer as touching the faulty origin, but not a client socket error", () => {
    const a = run([
      rec({ sent: FAULT + 50, status: 502 }),
      rec({ sent: FAULT + 700, status: 0, error: "ECONNRESET", reusedSocket: true }),
    ]);
    expect(a.lastToFaultyMs).toBe(50);
    expect(a.clientErrors).toBe(2);
    expect(a.meshErrorResponses).toBe(1);
    expect(a.clientSocketErrors).toBe(1);
    expect(a.socketErrorsOnReusedConnections).toBe(1);
    expect(a.errorSamples).toEqual(["HTTP 502", "ECONNRESET"]);
  });

  it("ignores retries outside the fault window", () => {
    const a = run([rec({ sent: FAULT - 100, attempts: 2 }), rec({ sent: RESTORE + 100, attempts: 3 })]);
    expect(a.lastToFaultyMs).toBe(0);
    expect(a.requestsTouchingFaultyOrigin).toBe(0);
    expect(a.retriedRequests).toBe(2);
  });

  it("reads the origin's own log for its last arrival during the fault and its first after restore", () => {
    const a = run([], { victimArrivals: [FAULT - 3, FAULT + 200, FAULT + 247, RESTORE + 2_400, RESTORE + 2_040] });
    expect(a.lastArrivalAtFaultyOriginMs).toBe(247);
    expect(a.restoreToTrafficMs).toBe(2_040);
  });

  it("says null, not 0, when the restored origin got no traffic", () => {
    const a = run([], { victimArrivals: [FAULT - 3] });
    expect(a.restoreToTrafficMs).toBeNull();
    expect(a.lastArrivalAtFaultyOriginMs).toBeNull();
  });

  it("takes the coordinator's first unhealthy after the fault and first healthy after restore", () => {
    const a = run([], {
      states: [
        { t: T0, state: "healthy" },
        { t: FAULT + 385, state: "unhealthy" },
        { t: RESTORE + 1_693, state: "healthy" },
      ],
    });
    expect(a.coordinatorUnhealthyAfterMs).toBe(385);
    expect(a.coordinatorHealthyAfterRestoreMs).toBe(1_693);
  });

  it("splits latency into before and during the fault by send time, skipping unanswered requests", () => {
    const a = run([
      rec({ sent: T0 + 1, done: T0 + 3 }),
      rec({ sent: FAULT + 1, done: FAULT + 41 }),
      rec({ sent: FAULT + 2, done: 0, status: 0, error: "timeout" }),
    ]);
    expect(a.beforeFault).toMatchObject({ count: 1, p50: 2, max: 2 });
    expect(a.duringFault).toMatchObject({ count: 1, p50: 40, p99: 40 });
  });

  it("handles a run longer than a spread call's argument limit", () => {
    const many = Array.from({ length: 200_000 }, (_, i) => rec({ sent: FAULT + (i % 1000), attempts: 2 }));
    expect(run(many).lastToFaultyMs).toBe(999);
  });
});

describe("failoverTimeline", () => {
  it("buckets answers per origin and errors per whole second of completion", () => {
    const tl = failoverTimeline(
      [
        rec({ sent: T0 + 10, done: T0 + 20, origin: "origin-1" }),
        rec({ sent: T0 + 1_500, done: T0 + 1_700, origin: "origin-2" }),
        rec({ sent: T0 + 1_800, done: T0 + 1_900, status: 502, origin: "origin-2" }),
        // Completed in the last, partial second: left out rather than drawn as a drop.
        rec({ sent: T0 + 2_400, done: T0 + 2_600, origin: "origin-1" }),
      ],
      T0,
      T0 + 1_000,
      T0 + 2_000,
      2_500,
    );
    expect(tl.perOrigin).toEqual({ "origin-1": [1, 0], "origin-2": [0, 1] });
    expect(tl.errors).toEqual([0, 1]);
    expect(tl.slowOver100ms).toEqual([0, 1]);
    expect(tl.faultAtS).toBe(1);
    expect(tl.restoreAtS).toBe(2);
  });
});
