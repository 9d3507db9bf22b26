import { describe, expect, it } from "vitest";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { emptyRecord, type MetricsRecord } from "../../../src/core/metrics/record.js";
import { computeStats, MINUTE_MS, minuteOf } from "../../../src/core/metrics/stats.js";

/** Per-minute records built the way a coordinator builds them: one accumulator take per minute. */
function minutesOf(byMinute: Map<number, (acc: MetricsAccumulator) => void>): Map<number, Map<string, MetricsRecord>> {
  const out = new Map<number, Map<string, MetricsRecord>>();
  for (const [minute, fill] of byMinute) {
    const acc = new MetricsAccumulator();
    fill(acc);
    out.set(minute, new Map((acc.take("shop")?.instances ?? []).map((i) => [i.instance, i.record])));
  }
  return out;
}

const NOW = Date.UTC(2026, 10, 30, 10, 20, 30);
const CURRENT = minuteOf(NOW);
const instances = [
  { id: "a", url: "https://a.example" },
  { id: "b", url: "https://b.example" },
];

describe("computeStats", () => {
  const minutes = minutesOf(
    new Map([
      // Outside every window but 1h.
      [CURRENT - 30, (acc: MetricsAccumulator) => { for (let i = 0; i < 50; i++) acc.recordRequest("shop", "a", "ok", 200, 5, []); }],
      [CURRENT - 1, (acc: MetricsAccumulator) => { for (let i = 0; i < 60; i++) acc.recordRequest("shop", "a", "ok", 200, 10, []); }],
      [CURRENT, (acc: MetricsAccumulator) => {
        for (let i = 0; i < 30; i++) acc.recordRequest("shop", "b", "upstream_error", 500, 200, []);
        acc.recordRequest("shop", "a", "failed_over", 200, 40, [{ instanceId: "b", ok: false, latencyMs: 1 }, { instanceId: "a", ok: true, latencyMs: 2 }]);
      }],
    ]),
  );

  it("covers the whole minutes of the window plus the partial current one, and divides by that span", () => {
    const s = computeStats("shop", "1m", NOW, minutes, instances);
    expect(s.from).toBe(new Date((CURRENT - 1) * MINUTE_MS).toISOString());
    expect(s.to).toBe(new Date(NOW).toISOString());
    expect(s.requests).toBe(91);
    expect(s.throughputPerSecond).toBeCloseTo(91 / 90, 4);
    expect(s.errorRate).toBeCloseTo(30 / 91, 5);
    expect(s.failoverRate).toBeCloseTo(1 / 91, 5);
    expect(s.series.map((p) => p.requests)).toEqual([60, 31]);
    expect(s.series.map((p) => p.errors)).toEqual([0, 30]);
    expect(s.series[0]?.at).toBe(s.from);
    expect(s.instances).toEqual([
      // a answered the one request that failed over from b.
      expect.objectContaining({ id: "a", url: "https://a.example", requests: 61, errorRate: 0, failoverRate: Number((1 / 61).toPrecision(6)) }),
      expect.objectContaining({ id: "b", url: "https://b.example", requests: 30, errorRate: 1, failoverRate: 0 }),
    ]);
    expect(s.upstreamLatencyMs.p50).not.toBeNull();
  });

  it("gives each instance the service's minutes: what it answered in each, nulls where it answered nothing", () => {
    const s = computeStats("shop", "1m", NOW, minutes, instances);
    const [a, b] = s.instances;
    expect(a?.series.map((p) => p.at)).toEqual(s.series.map((p) => p.at));
    expect(a?.series.map((p) => [p.requests, p.errors])).toEqual([[60, 0], [1, 0]]);
    expect(b?.series.map((p) => [p.requests, p.errors])).toEqual([[0, 0], [30, 30]]);
    expect(b?.series[0]).toMatchObject({ p50: null, p99: null });
    expect(b?.series[1]?.p50).not.toBeNull();
    // Every request here reached an instance, so the instances' points add up to the service's.
    expect(s.series.map((p, i) => (a?.series[i]?.requests ?? 0) + (b?.series[i]?.requests ?? 0) - p.requests)).toEqual([0, 0]);
  });

  it("reaches back an hour for 1h, with 61 points", () => {
    const s = computeStats("shop", "1h", NOW, minutes, instances);
    expect(s.requests).toBe(141);
    expect(s.series).toHaveLength(61);
  });

  it("gives null percentiles and zero rates with no traffic, and instances with none still listed", () => {
    const s = computeStats("shop", "5m", NOW, new Map(), instances);
    expect(s).toMatchObject({ requests: 0, throughputPerSecond: 0, errorRate: 0, failoverRate: 0 });
    expect(s.latencyMs).toEqual({ p50: null, p90: null, p99: null });
    expect(s.series).toHaveLength(6);
    expect(s.instances.map((i) => [i.requests, i.failoverRate])).toEqual([[0, 0], [0, 0]]);
  });

  it("never rounds a rate that is not zero to zero: 3 errors and 2 failovers in 10 million requests still show", () => {
    // About 2,800 requests a second over the hour: a busy service, and a 5xx rate an operator must see.
    const busy = emptyRecord();
    busy.requests = { "ok 2xx": 9_999_997, "upstream_error 5xx": 3 };
    busy.failovers = 2;
    const s = computeStats("shop", "1h", NOW, new Map([[CURRENT - 10, new Map([["a", busy]])]]), instances);
    expect(s.requests).toBe(10_000_000);
    expect(s.errorRate).toBeCloseTo(3e-7, 12);
    expect(s.failoverRate).toBeCloseTo(2e-7, 12);
    expect(s.instances[0]?.errorRate).toBeCloseTo(3e-7, 12);
    expect(s.instances[0]?.failoverRate).toBeCloseTo(2e-7, 12);
  });
});
