import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import type { AnalyticsPoint } from "../../../src/core/events/analytics-point.js";
import { requestEventSchema, type RequestEvent } from "../../../src/core/events/request-event.js";
import { createService, originUrls, register, uniqueName } from "../helpers.js";

/**
 * The Analytics Engine sink through the whole router (src/edge/report/analytics-sink.ts),
 * with real loopback origins. A real dataset binding keeps nothing locally (its
 * writes are a no-op in workerd), so what the router hands it is caught here by
 * a stand-in with the binding's one method; the layout itself is checked in
 * test/unit/events/analytics-point.test.ts, and test/e2e/analytics-engine.test.ts
 * runs the bundle with a real binding.
 */

type Dataset = Pick<AnalyticsEngineDataset, "writeDataPoint">;

interface Sent {
  statuses: number[];
  events: RequestEvent[];
  errors: string[];
}

/** Sends the paths in order, each to its end, with `dataset` bound as ANALYTICS and every request line on. */
async function send(paths: readonly { path: string; cf?: Record<string, string> }[], dataset: Dataset): Promise<Sent> {
  const logs: string[] = [];
  const errors: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    logs.push(String(line));
  });
  const error = vi.spyOn(console, "error").mockImplementation((line: unknown) => {
    errors.push(String(line));
  });
  const statuses: number[] = [];
  try {
    const bound = { ...env, REQUEST_LOG: "json", REQUEST_LOG_SAMPLE: "1", ANALYTICS: dataset };
    // One context for the batch: waiting on each request's own would wait out each outcome-report window.
    const ctx = createExecutionContext();
    for (const { path, cf } of paths) {
      const init = cf === undefined ? {} : { cf };
      const res = await worker.fetch(new Request(`http://mesh.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>, bound, ctx);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    await waitOnExecutionContext(ctx);
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  const events = logs.map((l) => JSON.parse(l) as { event?: unknown }).filter((e) => e.event === "request").map((e) => requestEventSchema.parse(e));
  return { statuses, events, errors };
}

/** What the data point must say of the request its request line describes; latency (double1) is checked apart, by sameLatency, and stands as -1. */
function pointOf(e: RequestEvent): AnalyticsPoint {
  return {
    indexes: [e.service ?? ""],
    blobs: [e.service ?? "", e.instance ?? "", e.outcome, e.colo ?? ""],
    doubles: [-1, e.attempts, e.status, e.status >= 500 ? 1 : 0, e.outcome === "failed_over" ? 1 : 0],
  };
}

/**
 * Each sink reads the clock itself, the point before the line; under the test pool the clock can
 * move a millisecond between the two, so the point's latency is the line's or just under it.
 */
function sameLatency(point: AnalyticsPoint, e: RequestEvent): AnalyticsPoint {
  const ms = point.doubles[0] ?? Number.NaN;
  expect(ms).toBeLessThanOrEqual(e.latencyMs);
  expect(ms).toBeGreaterThanOrEqual(e.latencyMs - 5);
  // -1, as pointOf writes it: the rest of the point is then compared whole.
  return { ...point, doubles: [-1, ...point.doubles.slice(1)] };
}

describe("the Analytics Engine sink", () => {
  it("writes one point per request routed to a service, agreeing with its request line, and none for no_route", async () => {
    const name = uniqueName("ae");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, retry: { attempts: 2 } });
    // Round-robin puts one of two consecutive requests on the refused port first: one ok, one failed over.
    await register(name, token, "http://127.0.0.1:1");
    await register(name, token, originUrls()[0] ?? "");
    const empty = uniqueName("ae-empty");
    await createService(empty, { routes: { pathPrefixes: [`/${empty}`] } });

    const points: AnalyticsPoint[] = [];
    const sent = await send(
      [
        { path: `/${name}/a`, cf: { colo: "LHR" } },
        { path: `/${name}/b`, cf: { colo: "LHR" } },
        { path: `/${empty}/c` },
        { path: `/ae-no-route-${name}/d` },
      ],
      { writeDataPoint: (p) => points.push(p as AnalyticsPoint) },
    );

    expect(sent.statuses).toEqual([200, 200, 503, 404]);
    expect(sent.events.map((e) => e.outcome).sort()).toEqual(["failed_over", "no_healthy_instance", "no_route", "ok"]);
    // The metrics sink's population: every request with a service, so not the 404 that found none.
    const routed = sent.events.filter((e) => e.service !== null);
    expect(points).toHaveLength(routed.length);
    const unclocked = points.map((p, i) => {
      const e = routed[i];
      if (e === undefined) throw new Error(`point ${String(i)} has no request line`);
      return sameLatency(p, e);
    });
    expect(unclocked).toEqual(routed.map(pointOf));
    expect(points).toContainEqual(expect.objectContaining({ blobs: [name, expect.any(String), "failed_over", "LHR"] }));
    expect(points).toContainEqual(expect.objectContaining({ blobs: [empty, "", "no_healthy_instance", ""] }));
    expect(sent.errors).toEqual([]);
  });

  it("answers as usual, and logs one error for the isolate, when every write throws", async () => {
    const name = uniqueName("ae-throws");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    await register(name, token, originUrls()[0] ?? "");
    const sent = await send([{ path: `/${name}/a` }, { path: `/${name}/b` }, { path: `/${name}/c` }], {
      writeDataPoint: () => {
        throw new Error("dataset broke");
      },
    });
    expect(sent.statuses).toEqual([200, 200, 200]);
    expect(sent.events).toMatchObject([{ outcome: "ok", status: 200 }, { outcome: "ok", status: 200 }, { outcome: "ok", status: 200 }]);
    expect(sent.errors).toHaveLength(1);
    expect(sent.errors[0]).toContain('"event":"analytics_write_failed"');
    expect(sent.errors[0]).toContain("dataset broke");
  });
});
