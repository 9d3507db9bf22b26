import { env } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { ADMIN, control, createService, mesh, originUrls, register, resetOrigins, serviceWith, stubFor, uniqueName } from "../helpers.js";

const READER = { authorization: "Bearer test-metrics-token" };

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

async function call(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://mesh.test${path}`), env, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

async function scrape(headers: Record<string, string> = READER): Promise<string> {
  const res = await mesh("/_mesh/v1/metrics", { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return await res.text();
}

/** The value of one sample line, by its exact series (name and labels as rendered). */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("GET /_mesh/v1/metrics", () => {
  it("exposes every service's requests, latency histograms and instance health", async () => {
    const { name, ids } = await serviceWith(2);
    const other = await serviceWith(1);
    // Each call waits out the batched report (up to 1 s).
    for (let i = 0; i < 2; i++) expect((await call(`/${name}/x`)).status).toBe(200);
    const text = await scrape();
    let served = 0;
    for (const id of ids) {
      served += value(text, `switchyard_requests_total{service="${name}",instance="${id}",outcome="ok",code_class="2xx"}`) ?? 0;
      expect(value(text, `switchyard_instance_healthy{service="${name}",instance="${id}"}`)).toBe(1);
      expect(value(text, `switchyard_request_duration_seconds_count{service="${name}",instance="${id}",kind="upstream"}`)).toBe(1);
    }
    expect(served).toBe(2);
    expect(value(text, `switchyard_retries_total{service="${name}"}`)).toBe(0);
    expect(value(text, `switchyard_service_up{service="${name}"}`)).toBe(1);
    expect(value(text, `switchyard_service_up{service="${other.name}"}`)).toBe(1);
    expect(value(text, "switchyard_scrape_errors")).toBe(0);
    // The admin token works too.
    expect(await scrape(ADMIN)).toContain(`service="${name}"`);
  }, 20_000);

  it("counts health checks by result, passive ejections and lease expirations where the coordinator makes them", async () => {
    const name = uniqueName("mx");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 5, unhealthyThreshold: 2 },
      lease: { ttlSeconds: 10, deregisterAfterSeconds: 600 },
    });
    const [a = "", b = ""] = originUrls();
    const ia = await register(name, token, a);
    await register(name, token, b);
    const stub = stubFor(name);

    // Five failed tries in a row on a: ejected (b is still routable).
    await stub.report([{ instanceId: ia.id, requests: 5, failures: 5, trailingFailures: 5, latencyMsTotal: 50, lastFailure: "status" }]);

    await control(b, { healthy: false });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 6_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    let text = await scrape();
    expect(value(text, `switchyard_health_checks_total{service="${name}",result="pass"}`)).toBe(1);
    expect(value(text, `switchyard_health_checks_total{service="${name}",result="fail"}`)).toBe(1);
    expect(value(text, `switchyard_instance_ejections_total{service="${name}"}`)).toBe(1);
    expect(value(text, `switchyard_instance_healthy{service="${name}",instance="${ia.id}"}`)).toBe(0);
    expect(value(text, `switchyard_lease_expirations_total{service="${name}"}`)).toBe(0);

    // Nobody heartbeats: both leases run out at the next alarm.
    vi.setSystemTime(Date.now() + 11_000);
    await runDurableObjectAlarm(stub);
    text = await scrape();
    expect(value(text, `switchyard_lease_expirations_total{service="${name}"}`)).toBe(2);
  });

  it("401s without a token or with a registration token", async () => {
    const name = uniqueName("mx");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    expect((await mesh("/_mesh/v1/metrics")).status).toBe(401);
    const res = await mesh("/_mesh/v1/metrics", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
  });
});
