import { describe, expect, it } from "vitest";
import {
  MAX_RETRY_WAIT_MS,
  MAX_SAMPLES,
  MAX_TRANSITIONS,
  agoTime,
  fmtPct,
  fmtRate,
  observeInstances,
  pathData,
  relTime,
  retryWaitMs,
  seriesPoints,
  summarize,
  type InstanceTrack,
  type InstanceView,
  type ServiceStats,
} from "../../../src/ui/model.client.js";

/** The dashboard's bookkeeping (src/ui/model.client.js), in Node: no DOM, time as a parameter. */

const T0 = Date.parse("2026-11-30T10:00:00Z");

function inst(id: string, state: string, requests: number, failures = 0): InstanceView {
  return { id, url: `http://10.0.0.1:${id}`, state, lastCheckAt: null, lastCheckResult: null, leaseExpiresAt: "", ejectedUntil: null, requests, failures, meanLatencyMs: null };
}

describe("observeInstances", () => {
  it("records a transition only when the state differs from the previous poll's, newest first", () => {
    const tracks = new Map<string, InstanceTrack>();
    expect(observeInstances(tracks, [inst("a", "healthy", 0)], T0)).toEqual([]);
    expect(observeInstances(tracks, [inst("a", "healthy", 0)], T0 + 5000)).toEqual([]);
    expect(observeInstances(tracks, [inst("a", "unhealthy", 0)], T0 + 10_000)).toEqual([{ id: "a", transition: { at: T0 + 10_000, from: "healthy", to: "unhealthy" } }]);
    observeInstances(tracks, [inst("a", "healthy", 0)], T0 + 15_000);
    expect(tracks.get("a")?.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(["unhealthy>healthy", "healthy>unhealthy"]);
  });

  it("keeps at most MAX_TRANSITIONS", () => {
    const tracks = new Map<string, InstanceTrack>();
    for (let i = 0; i < MAX_TRANSITIONS * 3; i++) observeInstances(tracks, [inst("a", i % 2 === 0 ? "healthy" : "unhealthy", 0)], T0 + i * 5000);
    expect(tracks.get("a")?.transitions).toHaveLength(MAX_TRANSITIONS);
  });

  it("turns counter growth between polls into a rate and an error share; a counter that went down gives no sample", () => {
    const tracks = new Map<string, InstanceTrack>();
    observeInstances(tracks, [inst("a", "healthy", 100, 0)], T0);
    observeInstances(tracks, [inst("a", "healthy", 150, 5)], T0 + 5000);
    observeInstances(tracks, [inst("a", "healthy", 150, 5)], T0 + 10_000);
    // The coordinator restarted: its counters start again from zero.
    observeInstances(tracks, [inst("a", "healthy", 3, 0)], T0 + 15_000);
    observeInstances(tracks, [inst("a", "healthy", 13, 0)], T0 + 20_000);
    expect(tracks.get("a")?.samples).toEqual([
      { at: T0 + 5000, rate: 10, errorRate: 0.1 },
      { at: T0 + 10_000, rate: 0, errorRate: null },
      { at: T0 + 20_000, rate: 2, errorRate: 0 },
    ]);
  });

  it("keeps at most MAX_SAMPLES and forgets instances that are gone", () => {
    const tracks = new Map<string, InstanceTrack>();
    for (let i = 0; i <= MAX_SAMPLES + 10; i++) observeInstances(tracks, [inst("a", "healthy", i), inst("b", "healthy", i)], T0 + i * 5000);
    expect(tracks.get("a")?.samples).toHaveLength(MAX_SAMPLES);
    observeInstances(tracks, [inst("b", "healthy", 999)], T0 + 10_000_000);
    expect([...tracks.keys()]).toEqual(["b"]);
  });
});

describe("seriesPoints", () => {
  const stats = (series: ServiceStats["series"], to: string): ServiceStats => ({
    service: "shop", window: "5m", from: "2026-11-30T09:55:30Z", to, requests: 0, throughputPerSecond: 0, errorRate: 0, failoverRate: 0,
    latencyMs: { p50: null, p99: null }, instances: [], series,
  });

  it("divides a full minute's requests by 60 and the minute still filling by the seconds it has run", () => {
    const pts = seriesPoints(
      stats(
        [
          { at: "2026-11-30T09:59:00Z", requests: 600, errors: 6, p50: 3, p99: 9 },
          { at: "2026-11-30T10:00:00Z", requests: 150, errors: 0, p50: null, p99: null },
        ],
        "2026-11-30T10:00:15Z",
      ),
    );
    expect(pts.rate.map((p) => p.y)).toEqual([10, 10]);
    expect(pts.errors.map((p) => p.y)).toEqual([1, 0]);
    expect(pts.p99.map((p) => p.y)).toEqual([9, null]);
    // Each point sits where its minute ends; the filling one at `to`.
    expect(pts.rate.map((p) => new Date(p.x).toISOString())).toEqual(["2026-11-30T10:00:00.000Z", "2026-11-30T10:00:15.000Z"]);
  });

  it("gives a minute without requests no error rate rather than 0 %", () => {
    const pts = seriesPoints(stats([{ at: "2026-11-30T09:59:00Z", requests: 0, errors: 0, p50: null, p99: null }], "2026-11-30T10:00:15Z"));
    expect(pts.errors).toEqual([{ x: Date.parse("2026-11-30T10:00:00Z"), y: null }]);
  });
});

describe("times and numbers", () => {
  it("says now, in and ago, and never puts a past event in the future", () => {
    expect(relTime(T0 + 300, T0)).toBe("now");
    expect(relTime(T0 + 25_000, T0)).toBe("in 25 s");
    expect(relTime(T0 - 180_000, T0)).toBe("3 min ago");
    expect(agoTime(T0 + 4000, T0)).toBe("now");
    expect(fmtPct(0.025)).toBe("2.50 %");
    expect(fmtPct(null)).toBe("–");
  });

  it("never shows a rate or a share that is not zero as zero: a quiet service's traffic and a rare error still show", () => {
    // One request in a 5m window (300 to 360 s) is about 0.003 req/s; one error in 100,000 requests is 0.001 %.
    expect(fmtRate(1 / 330)).toBe("0.0030");
    expect(fmtRate(0.033)).toBe("0.033");
    expect(fmtRate(0.5)).toBe("0.50");
    expect(fmtRate(0)).toBe("0.0");
    expect(fmtRate(2.25)).toBe("2.3");
    expect(fmtRate(150.4)).toBe("150");
    expect(fmtPct(0.00001)).toBe("< 0.01 %");
    expect(fmtPct(0)).toBe("0.00 %");
    expect(fmtPct(0.0001)).toBe("0.01 %");
    expect(fmtPct(0.5)).toBe("50.0 %");
  });

  it("summarizes a line for its text alternative", () => {
    const fmt = (v: number) => v.toFixed(0);
    expect(summarize("req/s", [{ x: 1, y: 3 }, { x: 2, y: null }, { x: 3, y: 7 }, { x: 4, y: 5 }], fmt)).toBe("req/s: latest 5, peak 7");
    expect(summarize("req/s", [{ x: 1, y: null }], fmt)).toBe("req/s: no data yet");
  });
});

describe("pathData", () => {
  const id = (v: number) => v;
  it("breaks the line at a null and draws a lone point as a dot", () => {
    expect(pathData([{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: null }, { x: 3, y: 4 }], id, id)).toBe("M0.0 1.0L1.0 2.0M3.0 4.0h0.01");
    expect(pathData([], id, id)).toBe("");
  });
});

describe("the wait after a 429 (retryWaitMs)", () => {
  const POLL = 5_000;
  it.each([
    ["30", 30_000],
    [" 30 ", 30_000],
    ["1", POLL],
    ["0", POLL],
    ["300", MAX_RETRY_WAIT_MS],
    ["2592000", MAX_RETRY_WAIT_MS],
    ["9".repeat(400), MAX_RETRY_WAIT_MS],
    [null, POLL],
    ["", POLL],
    ["Soon 2099", POLL],
    ["Tue, 01 Dec 2099 00:00:00 GMT", POLL],
    ["-30", POLL],
    ["1.5", POLL],
    ["1e9", POLL],
    ["Infinity", POLL],
    ["30, 30", POLL],
  ])("Retry-After %j: %d ms, a delay setTimeout keeps", (header, ms) => {
    const wait = retryWaitMs(header, POLL);
    expect(wait).toBe(ms);
    expect(wait).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
