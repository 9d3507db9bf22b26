import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { PERCENTILE_RELATIVE_ERROR } from "../../../src/core/metrics/buckets.js";
import type { ServiceStats } from "../../../src/core/metrics/stats.js";
import { ADMIN, control, mesh, originUrls, resetOrigins, serviceWith, stubFor, uniqueName } from "../helpers.js";

const READER = { authorization: "Bearer test-metrics-token" };

afterEach(async () => {
  await resetOrigins();
});

/** Calls the Worker and waits for its waitUntil work, so the batched report (and its metrics delta) has landed. */
async function call(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://mesh.test${path}`), env, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

async function stats(name: string, query = "", headers: Record<string, string> = READER): Promise<ServiceStats> {
  const res = await mesh(`/_mesh/v1/services/${name}/stats${query}`, { headers });
  expect(res.status).toBe(200);
  return await res.json<ServiceStats>();
}

function within(actual: number | null, exact: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? 0) - exact) / exact).toBeLessThanOrEqual(PERCENTILE_RELATIVE_ERROR + 0.001);
}

describe("GET /_mesh/v1/services/{name}/stats", () => {
  it("computes throughput, error and failover rates and percentiles per service and instance from reported deltas", async () => {
    const { name, ids } = await serviceWith(2);
    const [a = "", b = ""] = ids;
    const acc = new MetricsAccumulator();
    for (let i = 0; i < 90; i++) acc.recordRequest(name, a, "ok", 200, 10, [{ instanceId: a, ok: true, latencyMs: 8 }]);
    for (let i = 0; i < 9; i++) acc.recordRequest(name, b, "upstream_error", 503, 400, [{ instanceId: b, ok: false, latencyMs: 300 }]);
    // One failover: b failed, a answered.
    acc.recordRequest(name, a, "failed_over", 200, 50, [
      { instanceId: b, ok: false, latencyMs: 20 },
      { instanceId: a, ok: true, latencyMs: 20 },
    ]);
    acc.recordRequest(name, null, "no_healthy_instance", 503, 0, []);
    await stubFor(name).report([], acc.take(name) ?? undefined);

    const s = await stats(name, "?window=1m");
    expect(s).toMatchObject({ service: name, window: "1m", requests: 101 });
    expect(s.errorRate).toBeCloseTo(10 / 101, 5);
    expect(s.failoverRate).toBeCloseTo(1 / 101, 5);
    within(s.latencyMs.p50, 10);
    within(s.latencyMs.p99, 400);
    within(s.upstreamLatencyMs.p50, 8);
    expect(s.throughputPerSecond).toBeCloseTo(101 / ((Date.parse(s.to) - Date.parse(s.from)) / 1000), 2);
    expect(s.percentileError).toMatch(/9\.4 %/);
    // 1m: the previous whole minute and the current partial one, oldest first.
    expect(s.series).toHaveLength(2);
    // (Summed: the minute may have turned between the report and the read.)
    expect(s.series.reduce((n, p) => n + p.requests, 0)).toBe(101);
    expect(s.series.reduce((n, p) => n + p.errors, 0)).toBe(10);
    expect(Date.parse(s.series[1]?.at ?? "")).toBe(Math.floor(Date.parse(s.to) / 60_000) * 60_000);
    expect(Date.parse(s.series[0]?.at ?? "")).toBe(Date.parse(s.from));

    const byId = new Map(s.instances.map((i) => [i.id, i]));
    expect(byId.get(a)).toMatchObject({ url: originUrls()[0], requests: 91, errorRate: 0 });
    expect(byId.get(b)).toMatchObject({ url: originUrls()[1], requests: 9, errorRate: 1 });
    within(byId.get(b)?.latencyMs.p90 ?? null, 400);

    // The default window is 5m; so the running minute plus five before it.
    const five = await stats(name);
    expect(five.window).toBe("5m");
    expect(five.series).toHaveLength(6);
    expect(five.requests).toBe(101);
  });

  it("counts requests the router proxies, per instance, with upstream latency", async () => {
    const { name, ids } = await serviceWith(2);
    for (let i = 0; i < 4; i++) expect((await call(`/${name}/x`)).status).toBe(200);
    const s = await stats(name, "?window=1m", ADMIN);
    expect(s.requests).toBe(4);
    expect(s.errorRate).toBe(0);
    expect(s.instances.map((i) => i.requests).sort()).toEqual([2, 2]);
    expect(new Set(s.instances.map((i) => i.id))).toEqual(new Set(ids));
    expect(s.upstreamLatencyMs.p50).not.toBeNull();
    expect(s.latencyMs.p99).not.toBeNull();
  }, 20_000);

  it("counts a failover as the client saw it: a 200, not an error", async () => {
    const { name } = await serviceWith(2);
    const [, b = ""] = originUrls();
    await control(b, { status: 503 });
    // Every request that starts on the failing instance fails over; the header says which did.
    let failedOver = 0;
    for (let i = 0; i < 4; i++) {
      const res = await call(`/${name}/y`);
      expect(res.status).toBe(200);
      if (res.headers.get("x-mesh-attempts") === "2") failedOver++;
    }
    expect(failedOver).toBeGreaterThan(0);
    const s = await stats(name, "?window=1m");
    expect(s.requests).toBe(4);
    expect(s.failoverRate).toBe(failedOver / 4);
    expect(s.errorRate).toBe(0);
  }, 20_000);

  it("answers null percentiles and zero rates for a service with no traffic", async () => {
    const { name } = await serviceWith(1);
    const s = await stats(name, "?window=1h");
    expect(s).toMatchObject({ requests: 0, throughputPerSecond: 0, errorRate: 0, failoverRate: 0 });
    expect(s.latencyMs).toEqual({ p50: null, p90: null, p99: null });
    expect(s.series).toHaveLength(61);
    expect(s.instances[0]?.latencyMs).toEqual({ p50: null, p90: null, p99: null });
  });

  it("400s a bad window naming the field, 404s an unknown service, 401s without a valid token", async () => {
    const { name } = await serviceWith(1);
    const bad = await mesh(`/_mesh/v1/services/${name}/stats?window=2m`, { headers: READER });
    expect(bad.status).toBe(400);
    const body = await bad.json<{ error: string; message: string; issues: { path: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues[0]?.path).toBe("window");

    const missing = await mesh(`/_mesh/v1/services/${uniqueName("none")}/stats`, { headers: READER });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });

    expect((await mesh(`/_mesh/v1/services/${name}/stats`)).status).toBe(401);
    expect((await mesh(`/_mesh/v1/services/${name}/stats`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });

  it("keeps the metrics token read-only: it opens metrics and stats, not the admin API", async () => {
    const { name } = await serviceWith(1);
    expect((await mesh(`/_mesh/v1/services/${name}`, { headers: READER })).status).toBe(401);
    expect((await mesh(`/_mesh/v1/services`, { headers: READER })).status).toBe(401);
    expect((await mesh(`/_mesh/v1/metrics`, { headers: READER })).status).toBe(200);
  });
});
