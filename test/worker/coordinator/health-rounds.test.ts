import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { control, createService, json, mesh, originUrls, register, resetOrigins, stubFor, uniqueName, ADMIN } from "../helpers.js";

/** Moves the clock the Durable Object sees (it runs in the test isolate). */
function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function nextCheckAt(name: string): Promise<number> {
  return await runInDurableObject(stubFor(name), (_i, state) => {
    const rows = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'next_check_at'").toArray();
    return Number(rows[0]?.value ?? "NaN");
  });
}

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

describe("ServiceCoordinator health rounds", () => {
  it("a config that shortens intervalSeconds while a round is in flight still brings the next round in", async () => {
    const name = uniqueName("hr");
    // The probe path is not /healthz, so the origin's delayMs holds every probe for a while.
    const config = {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 3600, path: "/slow-check", timeoutMs: 3000 },
      lease: { ttlSeconds: 86_400 },
    };
    const { token } = await createService(name, config);
    const [a = ""] = originUrls();
    await register(name, token, a);
    await control(a, { delayMs: 800 });
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(3_601_000);
    const round = runDurableObjectAlarm(stub);
    await sleep(200);
    const put = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { ...config, healthCheck: { ...config.healthCheck, intervalSeconds: 5 } }, ADMIN));
    expect(put.status).toBe(200);
    expect(await round).toBe(true);
    expect((await stub.describe()).instances[0]?.lastCheckAt).not.toBeNull();
    // The next round is at most the new interval away, not the old one.
    expect(await nextCheckAt(name)).toBeLessThanOrEqual(Date.now() + 5_000);
  });

  it("thresholds of 1 flip on one probe, a query in the path reaches the origin, and 3xx or a timeout fails", async () => {
    const name = uniqueName("hr");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 5, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1, path: "/healthz?deep=1" },
      lease: { ttlSeconds: 86_400 },
    });
    const [a = ""] = originUrls();
    await register(name, token, a);
    const stub = stubFor(name);
    const round = async () => {
      advance(6_000);
      await runDurableObjectAlarm(stub);
      const i = (await stub.describe()).instances[0];
      return `${i?.state ?? ""} ${i?.lastCheckResult ?? ""}`;
    };
    vi.useFakeTimers({ toFake: ["Date"] });
    expect(await round()).toMatch(/^healthy HTTP 200 /);
    await control(a, { healthy: false });
    expect(await round()).toMatch(/^unhealthy HTTP 503 /);
    await control(a, { healthy: true });
    expect(await round()).toMatch(/^healthy HTTP 200 /);

    // A path the origin echoes: a forced 302 is not followed and is not an expected status.
    const other = { routes: { pathPrefixes: [`/${name}`] }, lease: { ttlSeconds: 86_400 } };
    const hc = { intervalSeconds: 5, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1, path: "/probe" };
    expect((await mesh(`/_mesh/v1/services/${name}`, json("PUT", { ...other, healthCheck: hc }, ADMIN))).status).toBe(200);
    await control(a, { status: 302 });
    expect(await round()).toMatch(/^unhealthy HTTP 302 /);
    await control(a, { status: null, delayMs: 600 });
    expect(await round()).toBe("unhealthy timeout after 300 ms");
    await control(a, { delayMs: 0 });
    expect(await round()).toMatch(/^healthy HTTP 200 /);
  });

  it("a probe that was in flight when the instance left and came back is not held against the new registration", async () => {
    const name = uniqueName("hr");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 5, timeoutMs: 3000, unhealthyThreshold: 1, path: "/slow-check" },
      lease: { ttlSeconds: 86_400 },
    });
    const [a = ""] = originUrls();
    const reg = await register(name, token, a);
    // The probe answers 503 (not an expected status) after 800 ms.
    await control(a, { delayMs: 800, status: 503 });
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(6_000);
    const round = runDurableObjectAlarm(stub);
    await sleep(200);
    const auth = { authorization: `Bearer ${token}` };
    expect((await mesh(`/_mesh/v1/services/${name}/instances/${reg.id}`, { method: "DELETE", headers: auth })).status).toBe(200);
    await register(name, token, a);
    expect(await round).toBe(true);
    const view = (await stub.describe()).instances[0];
    // The fresh registration starts healthy; the old incarnation's failed probe does not count.
    expect(view?.state).toBe("healthy");
    expect(view?.consecutiveFailures).toBe(0);
  });
});

describe("a service deleted while a health round is in flight", () => {
  it("counts none of that round's probes in the metrics of the service created again under its name", async () => {
    const name = uniqueName("hr-del");
    // The probe path is not /healthz, so the origin's delayMs holds the probe past the DELETE.
    const config = {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 3600, path: "/slow-check", timeoutMs: 3000 },
      lease: { ttlSeconds: 86_400 },
    };
    const { token } = await createService(name, config);
    await register(name, token, originUrls()[0] ?? "");
    await control(originUrls()[0] ?? "", { delayMs: 800 });
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(3_601_000);
    const round = runDurableObjectAlarm(stub);
    await sleep(200); // the probe is in flight
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await round;
    // "A service created again under the name starts from zero" (metrics-store.ts clear).
    await createService(name, config);
    const counters = (await stub.metrics())?.counters;
    expect([counters?.healthChecksPassed, counters?.healthChecksFailed]).toEqual([0, 0]);
  });
});
