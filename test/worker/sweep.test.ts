import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../workers/mesh/index.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SweepRecord } from "../../src/sweep/sweep.js";
import { ADMIN, createService, mesh, originUrls, register, stubFor, uniqueName } from "./helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

async function runCron(): Promise<SweepRecord> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
  const record = await env.REGISTRY.get<SweepRecord>("sweep:last", "json");
  if (record === null) throw new Error("sweep recorded nothing");
  return record;
}

describe("scheduled sweep", () => {
  it("reaps expired leases across services, re-arms alarms and records the sweep", async () => {
    const name = uniqueName("cron");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      lease: { ttlSeconds: 10, deregisterAfterSeconds: 30 },
      healthCheck: { intervalSeconds: 60, timeoutMs: 1000 },
    });
    const reg = await register(name, token, originUrls()[0] ?? "");
    const stub = stubFor(name);
    // Simulate a lost alarm: the sweep must put it back.
    await runInDurableObject(stub, (_i, state) => state.storage.deleteAlarm());

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 11_000);
    const first = await runCron();
    expect(first.services).toBeGreaterThanOrEqual(1);
    expect(first.expired).toBeGreaterThanOrEqual(1);
    expect(first.errors).toEqual([]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await env.REGISTRY.get(`instance:${name}:${reg.id}`)).toBeNull();

    vi.setSystemTime(Date.now() + 31_000);
    const second = await runCron();
    expect(second.removed).toBeGreaterThanOrEqual(1);
    const shown = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<{ instances: unknown[] }>();
    expect(shown.instances).toEqual([]);
  });

  it("repairs a route index that lost a service", async () => {
    const name = uniqueName("cron");
    await createService(name, { routes: { hosts: [`${name}.example.com`] } });
    await env.REGISTRY.put("routes", JSON.stringify({ version: 1, generatedAt: 0, services: [] }));
    await runCron();
    const index = await env.REGISTRY.get<{ services: { name: string }[] }>("routes", "json");
    expect(index?.services.map((s) => s.name)).toContain(name);
  });
});
