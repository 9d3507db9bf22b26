import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../../workers/mesh/index.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SweepRecord } from "../../../src/sweep/sweep.js";
import { ROUTE_CHANGE_HOLD_MS, routeRegistry } from "../../../src/registry/route-registry.js";
import { routeShardKey, shardOf, type RouteShard } from "../../../src/registry/route-shards.js";
import { ADMIN, createService, flushRouteIndex, leasedServiceWithLostAlarm, mesh, originUrls, register, stubFor, uniqueName } from "../helpers.js";

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
    // A lost alarm: the sweep must put it back.
    const { name, id, stub } = await leasedServiceWithLostAlarm("cron");

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 11_000);
    const first = await runCron();
    expect(first.services).toBeGreaterThanOrEqual(1);
    expect(first.expired).toBeGreaterThanOrEqual(1);
    expect(first.errors).toEqual([]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await env.REGISTRY.get(`instance:${name}:${id}`)).toBeNull();

    vi.setSystemTime(Date.now() + 31_000);
    const second = await runCron();
    expect(second.removed).toBeGreaterThanOrEqual(1);
    const shown = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<{ instances: unknown[] }>();
    expect(shown.instances).toEqual([]);
  });

  it("repairs a route registry that lost a service", async () => {
    const name = uniqueName("cron");
    await createService(name, { routes: { hosts: [`${name}.example.com`] } });
    // An entry lost after the record was written (a rollback that raced, say).
    const registry = routeRegistry(env);
    await registry.put(name, null);
    await flushRouteIndex();
    const key = routeShardKey(shardOf(name));
    expect((await env.REGISTRY.get<RouteShard>(key, "json"))?.services.map((s) => s.name)).not.toContain(name);
    // That put is an admin change to the registry: the sweep leaves it alone for the hold (sweep-route-hold.test.ts), then repairs it.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + ROUTE_CHANGE_HOLD_MS + 1_000);
    await runCron();
    await flushRouteIndex();
    expect((await env.REGISTRY.get<RouteShard>(key, "json"))?.services.map((s) => s.name)).toContain(name);
  });

  it("totals what the coordinators repaired: corrupt rows reset or removed, and KV mirror keys fixed", async () => {
    const name = uniqueName("cron");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const [a = "", b = "", c = ""] = originUrls();
    const ra = await register(name, token, a);
    const rb = await register(name, token, b);
    const rc = await register(name, token, c);
    // One mirror key lost (KV write failed, say): the sweep's repair puts it back.
    await env.REGISTRY.delete(`instance:${name}:${rb.id}`);
    const stub = stubFor(name);
    await runInDurableObject(stub, (_i, state) => {
      // Repairable (bad JSON in a column) and unusable (bad identity column): see coordinator-storage.test.ts.
      state.storage.sql.exec("UPDATE instances SET health = '{broken' WHERE id = ?", ra.id);
      state.storage.sql.exec("UPDATE instances SET membership = 'lost' WHERE id = ?", rc.id);
    });
    // Rows are checked when a coordinator loads its store, as after an eviction.
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      await runInDurableObject(stub, (_i, state) => state.abort("test: reload a damaged store")).catch(() => undefined);
      const record = await runCron();
      expect(record.errors).toEqual([]);
      expect([record.corruptRepaired, record.corruptRemoved]).toEqual([1, 1]);
      // rb's key put back, rc's (removed with its row) deleted.
      expect(record.mirrorRepaired).toBeGreaterThanOrEqual(2);
      expect(await env.REGISTRY.get(`instance:${name}:${rb.id}`)).not.toBeNull();
      expect(await env.REGISTRY.get(`instance:${name}:${rc.id}`)).toBeNull();
      // Repaired once: the next sweep has nothing of this kind left.
      const again = await runCron();
      expect([again.corruptRepaired, again.corruptRemoved]).toEqual([0, 0]);
    } finally {
      logged.mockRestore();
    }
  });

  it("records a coordinator that cannot start as an error and still sweeps the others", async () => {
    const broken = uniqueName("cron");
    const healthy = uniqueName("cron");
    await createService(broken, { routes: { pathPrefixes: [`/${broken}`] } });
    await createService(healthy, { routes: { pathPrefixes: [`/${healthy}`] } });
    const stub = stubFor(broken);
    // A schema newer than this build makes the coordinator refuse to start (storage/migrations.ts).
    await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("UPDATE meta SET value = '999' WHERE key = 'schema_version'"));
    await runInDurableObject(stub, (_i, state) => state.abort("test: restart on a newer schema")).catch(() => undefined);
    await runInDurableObject(stubFor(healthy), (_i, state) => state.storage.deleteAlarm());
    try {
      const record = await runCron();
      const failed = record.errors.map((e) => e.service);
      expect(failed).toContain(broken);
      expect(failed).not.toContain(healthy);
      expect(record.errors.find((e) => e.service === broken)?.message).toMatch(/schema version 999/);
      expect(await runInDurableObject(stubFor(healthy), (_i, state) => state.storage.getAlarm())).not.toBeNull();
    } finally {
      // Other sweeps in this file expect no errors: take the broken service out of the registry.
      await env.REGISTRY.delete(`service:${broken}`);
    }
  });
});
