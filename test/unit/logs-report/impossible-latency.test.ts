import { describe, expect, it } from "vitest";
import { requestEventLine } from "../../../src/core/events/request-line.js";
import { line, record, reportInTempDir } from "./request-lines.js";

/**
 * The mesh writes latencies as whole milliseconds from 0 up (the event
 * schema's `latencyMs` and `upstreamLatencyMs`). A line with a negative one,
 * or one JSON reads as Infinity (`1e999`), is not the mesh's: any Worker in
 * the Logpush job can write it. Read as a latency it would put a negative
 * p50 in the report, or an infinite p99 that `--json` prints as null, the
 * value that means "no requests". So the event is malformed: skipped and
 * counted, on the quick path (a Logpush record) and the parsed one alike.
 */

const report = reportInTempDir("impossible-latency-");

/** A request line as the mesh writes it, with one latency's JSON text replaced. */
const withText = (field: "latencyMs" | "upstreamLatencyMs", text: string, requestId: string) =>
  requestEventLine(line({ requestId, latencyMs: 5, upstreamLatencyMs: 4 })).replace(`"${field}":${field === "latencyMs" ? "5" : "4"}`, `"${field}":${text}`);

describe("logs:report and latencies the mesh cannot write", () => {
  it("skips and counts an event whose latency is negative or infinite, quick path or parsed, and keeps the others' percentiles", async () => {
    const bad = [
      withText("latencyMs", "-3", "neg"),
      withText("latencyMs", "1e999", "inf"),
      withText("upstreamLatencyMs", "-1", "uneg"),
      withText("upstreamLatencyMs", "1e999", "uinf"),
    ];
    expect(bad.map((l) => /"(?:latencyMs|upstreamLatencyMs)":(-\d|1e999)/.exec(l)?.[0])).toEqual([
      '"latencyMs":-3',
      '"latencyMs":1e999',
      '"upstreamLatencyMs":-1',
      '"upstreamLatencyMs":1e999',
    ]);
    const good = Array.from({ length: 3 }, (_, i) => requestEventLine(line({ requestId: `g${String(i)}`, latencyMs: 5, upstreamLatencyMs: 4 })));
    // Each bad line twice: inside a Logpush record (the quick path) and as a plain NDJSON line (JSON.parse).
    const r = await report("impossible.ndjson", [...good.map(record), ...bad.map(record), ...bad]);
    expect(r.input.malformed).toBe(8);
    expect(r.input.events).toBe(3);
    const shop = r.services.find((s) => s.service === "shop");
    expect(shop?.requests).toBe(3);
    expect(shop?.latencyMs).toEqual({ p50: 5, p95: 5, p99: 5, max: 5 });
    expect(shop?.upstreamLatencyMs).toEqual({ p50: 4, p95: 4, p99: 4, max: 4 });
  });
});
