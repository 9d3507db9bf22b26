import { describe, expect, it } from "vitest";
import { renderText } from "../../../scripts/logs-report/render-text.mjs";
import { line, record, reportInTempDir } from "./request-lines.js";
import { requestEventLine } from "../../../src/core/events/request-line.js";

/**
 * logs:report over sampled request lines (REQUEST_LOG_SAMPLE): a line counts
 * `weight` requests in every figure, and a line without the field counts 1.
 */



const report = reportInTempDir("weighted-report-");

describe("logs:report with sampled lines", () => {
  it("counts each line as its weight: requests, error and failover rates, outcomes, instances, series and latency", async () => {
    // As REQUEST_LOG_SAMPLE = 0.01 writes 1,000 plain successes (about 10 lines of weight 100) beside 10 failures.
    const sampled = Array.from({ length: 10 }, (_, i) => record(requestEventLine(line({ requestId: `s${i}`, weight: 100 }))));
    const failures = [
      ...Array.from({ length: 5 }, (_, i) => line({ requestId: `e${i}`, status: 503, outcome: "upstream_error", failures: ["503"], latencyMs: 900 })),
      ...Array.from({ length: 5 }, (_, i) => line({ requestId: `f${i}`, outcome: "failed_over", attempts: 2, tried: ["b", "a"], failures: ["reset"], latencyMs: 40 })),
    ].map((e) => record(requestEventLine(e)));
    const r = await report("sampled.ndjson", [...sampled, ...failures]);
    const shop = r.services.find((s) => s.service === "shop");
    expect(shop).toMatchObject({ requests: 1010, errors: 5, failovers: 5, outcomes: { ok: 1000, upstream_error: 5, failed_over: 5 } });
    expect(shop?.errorRate).toBeCloseTo(5 / 1010, 12);
    expect(shop?.failoverRate).toBeCloseTo(5 / 1010, 12);
    // 1,010 requests: 1,000 at 5 ms, 5 at 40, 5 at 900. Unweighted, p50 would be 40 ms and p95 900 ms.
    expect(shop?.latencyMs).toEqual({ p50: 5, p95: 5, p99: 5, max: 900 });
    expect(shop?.series.reduce((n, p) => n + p.requests, 0)).toBe(1010);
    expect(shop?.instances.find((i) => i.instance === "a")).toMatchObject({ tries: 1010, answered: 1010, failedTries: 5 });
    expect(shop?.instances.find((i) => i.instance === "b")).toMatchObject({ tries: 5, failedTries: 5 });
    expect(r.input).toMatchObject({ events: 20, sampledLines: 10, malformed: 0 });
    expect(renderText(r)).toContain("10 sampled request line(s), each counted as its weight in requests");
  });

  it("counts lines without the field (written before it) as one request each, beside new ones", async () => {
    const { weight: _w, ...old } = line();
    const r = await report("mixed.ndjson", [JSON.stringify(old), record(JSON.stringify(old)), record(requestEventLine(line({ weight: 4 })))]);
    expect(r.services[0]).toMatchObject({ service: "shop", requests: 6 });
    expect(r.input).toMatchObject({ events: 3, sampledLines: 1 });
  });

  it("shows a fractional weight's sums as whole requests, and keeps the rates unrounded", async () => {
    // p = 0.3: each sampled line stands for 3.33… requests.
    const lines = [record(requestEventLine(line({ weight: 1 / 0.3 }))), record(requestEventLine(line({ weight: 1 / 0.3 }))), record(requestEventLine(line({ status: 500, outcome: "upstream_error" })))];
    const r = await report("fractional.ndjson", lines);
    expect(r.services[0]).toMatchObject({ requests: 8, errors: 1, outcomes: { ok: 7, upstream_error: 1 } });
    expect(r.services[0]?.errorRate).toBeCloseTo(1 / (2 / 0.3 + 1), 12);
  });

  it("refuses a line whose weight is out of bounds, as malformed, rather than count it", async () => {
    const r = await report("bad.ndjson", [record(requestEventLine(line({ weight: 1e300 }))), JSON.stringify(line({ weight: 0 })), record(requestEventLine(line()))]);
    expect(r.input.malformed).toBe(2);
    expect(r.services[0]?.requests).toBe(1);
  });
});
