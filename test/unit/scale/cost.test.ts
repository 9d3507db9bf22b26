import { describe, expect, it } from "vitest";
import { MONTH_S, PRICES, PRICES_READ, monthlyCost, overage } from "../../../scripts/scale/model/cost.mjs";
import { DEFAULT_INPUTS, requestLinesPerRequest, scaleModel } from "../../../scripts/scale/model/model.mjs";

describe("monthly cost", () => {
  it("charges only past what the plan includes", () => {
    expect(overage({ included: 10e6, perMillion: 0.3 }, 5e6)).toBe(0);
    expect(overage({ included: 10e6, perMillion: 0.3 }, 12e6)).toBeCloseTo(0.6, 12);
  });

  it("an idle mesh costs the Workers Paid base price", () => {
    // Heartbeats 0.2/s + alarms 0.1/s + sweep 0.033/s = 864,000 coordinator requests a month, inside the 1M included.
    const m = scaleModel({ ...DEFAULT_INPUTS, locations: 1, isolatesPerLocation: 1, rps: 0, services: 1, instancesPerService: 2 });
    // No traffic: the only subrequests are the tries themselves (1 + 0.001 + 0.001² with the default 0.1 % failures).
    expect(m.subrequests.snapshot.mean).toBeCloseTo(1.001001, 9);
    const cost = monthlyCost(m, "snapshot", 0.5);
    expect(cost.total).toBe(PRICES.workersBasePerMonth);
  });

  it("bills Workers requests and CPU past the included amounts", () => {
    const m = scaleModel({ ...DEFAULT_INPUTS, locations: 1, isolatesPerLocation: 1, rps: 100, services: 1 });
    // 100 req/s × 2,592,000 s = 259.2M requests: (259.2 − 10) × $0.30; CPU 142.56M ms: (142.56 − 30) × $0.02.
    const cost = monthlyCost(m, "snapshot", 0.55);
    expect(cost.workers).toBeCloseTo(5 + 249.2 * 0.3 + 112.56 * 0.02, 6);
    // One coordinator in memory all month: 0.128 GB × 2,592,000 s = 331,776 GB-s, inside the 400,000 included.
    expect(cost.usage.doGbS).toBeCloseTo(331_776, 6);
    expect(cost.doDuration).toBe(0);
  });

  it("bills coordinator requests by design: the shared refresh (default) costs less than sharing off at the worked example", () => {
    const m = scaleModel(DEFAULT_INPUTS);
    const today = monthlyCost(m, "snapshot", 0.55);
    const shared = monthlyCost(m, "sharedRefresh", 0.55);
    // Every RPC of every service plus one alarm per service per health interval.
    const expected = (m.load.byDesign.snapshot.total * 1_000 + 1_000 / 10) * MONTH_S;
    expect(today.usage.doRequests).toBeCloseTo(expected, 0);
    expect(today.doRequests).toBeCloseTo(((expected - 1e6) / 1e6) * 0.15, 2);
    expect(shared.doRequests).toBeLessThan(today.doRequests);
  });

  it("bills the reports' statistics by flush, not by report: ten times the reports add no SQLite rows", () => {
    // Written behind (src/coordinator/storage/write-behind.ts): each instance's rows at most once a second.
    const at = (rps: number) => scaleModel({ ...DEFAULT_INPUTS, rps });
    expect(at(10_000_000).load.byDesign.sharedRefresh.reports).toBeGreaterThan(5 * at(1_000_000).load.byDesign.sharedRefresh.reports);
    const few = monthlyCost(at(1_000_000), "sharedRefresh", 0.55);
    const many = monthlyCost(at(10_000_000), "sharedRefresh", 0.55);
    expect(many.usage.doRowsWritten).toBeCloseTo(few.usage.doRowsWritten, 0);
    // Per service and second: 1 probe result × 2 rows (10 instances every 10 s; health and the checks counter), 1 heartbeat row (30 s leases, a heartbeat
    // every 10 s), and 1.1 flushes of 10 instances × 5 rows written (1 counters, 2 + 2 metrics with their key indexes):
    // one a second, and the alarm's each health interval (10 s); registrations are 0.0002/s.
    const perServicePerS = few.usage.doRowsWritten / MONTH_S / DEFAULT_INPUTS.services;
    expect(perServicePerS).toBeGreaterThan(2 + 1 + 55);
    expect(perServicePerS).toBeLessThan(2 + 1 + 55 + 0.01);
  });

  it("bills Workers Logs per event (the request line; with invocation logs on, one per invocation, coordinators' too), and Logpush per request", () => {
    // Every request line written (REQUEST_LOG_SAMPLE = "1"; wrangler.toml ships "0.1": the next test).
    const m = (over: Partial<typeof DEFAULT_INPUTS>) =>
      scaleModel({ ...DEFAULT_INPUTS, locations: 1, isolatesPerLocation: 1, rps: 100, services: 1, requestLogSample: 1, ...over });
    // 100 req/s for 30 days: 259.2M requests, so 259.2M events (REQUEST_LOG=json, invocation logs off, every line).
    const shipped = monthlyCost(m({}), "snapshot", 0.55);
    expect(shipped.usage.logEvents).toBeCloseTo(259.2e6, 0);
    expect(shipped.workersLogs).toBeCloseTo((259.2 - 20) * 0.6, 6);
    // Logpush: a record per request and, with no filter in the job, one per coordinator invocation (RPC or alarm).
    expect(shipped.usage.logpushRecords).toBeCloseTo(259.2e6 + shipped.usage.doRequests, 0);
    expect(shipped.logpush).toBeCloseTo((259.2 + shipped.usage.doRequests / 1e6 - 10) * 0.05, 6);
    const filtered = monthlyCost(m({ coordinatorLogpush: 0 }), "snapshot", 0.55);
    expect(filtered.logpush).toBeCloseTo((259.2 - 10) * 0.05, 6);
    // Invocation logs on (Cloudflare's default): one more event per request, and one per coordinator request.
    const invocations = monthlyCost(m({ invocationLogs: 1 }), "snapshot", 0.55);
    expect(invocations.usage.logEvents).toBeCloseTo(2 * 259.2e6 + invocations.usage.doRequests, 0);
    expect(monthlyCost(m({ requestLogLines: 0 }), "snapshot", 0.55).workersLogs).toBe(0);
    // One request in a hundred logged: 2.6M events, inside the 20M included.
    expect(monthlyCost(m({ logSampling: 0.01 }), "snapshot", 0.55).workersLogs).toBe(0);
    const none = monthlyCost(m({ workersLogs: 0, logpush: 0 }), "snapshot", 0.55);
    expect([none.workersLogs, none.logpush]).toEqual([0, 0]);
    expect(shipped.total - none.total).toBeCloseTo(shipped.workersLogs + shipped.logpush, 6);
  });

  it("bills REQUEST_LOG_SAMPLE's lines: the successes drawn and every failed request, while Logpush keeps one record per request", () => {
    const m = (over: Partial<typeof DEFAULT_INPUTS>) => scaleModel({ ...DEFAULT_INPUTS, locations: 1, isolatesPerLocation: 1, rps: 100, services: 1, ...over });
    // 259.2M requests; at p = 0.01 with 0.1 % of first tries failing: 1 % + 99 % × 0.1 % = 1.099 % of them have a line.
    const sampled = monthlyCost(m({ requestLogSample: 0.01 }), "snapshot", 0.55);
    expect(sampled.usage.logEvents).toBeCloseTo(259.2e6 * (0.01 + 0.99 * 0.001), 0);
    expect(requestLinesPerRequest({ requestLogLines: 1, requestLogSample: 0.01, failureRate: 0.001 })).toBeCloseTo(0.01099, 12);
    // Every request's line at p = 1; only the failures' at the smallest p; no line at all with REQUEST_LOG=off.
    expect(requestLinesPerRequest({ requestLogLines: 1, requestLogSample: 1, failureRate: 0.2 })).toBe(1);
    expect(requestLinesPerRequest({ requestLogLines: 1, requestLogSample: 0.000001, failureRate: 0.2 })).toBeCloseTo(0.2, 5);
    expect(requestLinesPerRequest({ requestLogLines: 0, requestLogSample: 0.5, failureRate: 0.2 })).toBe(0);
    // As shipped (0.1): 10 % + 90 % × 0.1 % = 10.09 % of the requests have a line.
    const shipped = monthlyCost(m({}), "snapshot", 0.55);
    expect(shipped.usage.logEvents).toBeCloseTo(259.2e6 * (0.1 + 0.9 * 0.001), 0);
    // A sampled-out request is still an invocation with a trace event: Logpush bills the same records.
    expect(sampled.usage.logpushRecords).toBe(shipped.usage.logpushRecords);
    expect(sampled.logpush).toBe(shipped.logpush);
    // Both samplings multiply: head sampling keeps 1 % of the invocations, each with its (sampled) line.
    const both = monthlyCost(m({ requestLogSample: 0.01, logSampling: 0.01 }), "snapshot", 0.55);
    expect(both.usage.logEvents).toBeCloseTo(sampled.usage.logEvents * 0.01, 0);
    // With invocation logs on, the sampling thins the request line only, not the invocation logs.
    const invocations = monthlyCost(m({ requestLogSample: 0.01, invocationLogs: 1 }), "snapshot", 0.55);
    expect(invocations.usage.logEvents).toBeCloseTo(sampled.usage.logEvents + 259.2e6 + invocations.usage.doRequests, 0);
  });

  it("says when the prices were read", () => {
    expect(PRICES_READ).toMatch(/20\d\d/);
  });
});
