import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { invalidateRouteCache, noteRouteChange } from "../../../src/edge/cache/route-cache.js";
import { KEY } from "../../../src/registry/keys.js";
import { FLUSH_SPACING_MS, routeRegistry } from "../../../src/registry/route-registry.js";
import { ROUTE_SHARDS, ROUTE_VERSION_KEY, routeShardKey, shardOf, type RouteShard, type RouteVersions } from "../../../src/registry/route-shards.js";
import { routedService } from "../../../src/registry/route-index.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { ADMIN, createService, flushRouteIndex, json, mesh, uniqueName } from "../helpers.js";

const registry = () => routeRegistry(env);

async function flushed(): Promise<RouteVersions> {
  await flushRouteIndex();
  const v = await env.REGISTRY.get<RouteVersions>(ROUTE_VERSION_KEY, "json");
  if (v === null) throw new Error("no version key after a flush");
  return v;
}

/** A name in a shard other than `avoid`'s, so a test can tell the two shards' writes apart. */
function nameOutside(prefix: string, avoid: number): string {
  for (;;) {
    const n = uniqueName(prefix);
    if (shardOf(n) !== avoid) return n;
  }
}

describe("route index in KV (sharded, one writer)", () => {
  it("writes one shard and the version key for a service change, and leaves every other shard alone", async () => {
    const a = uniqueName("idx");
    await createService(a, { routes: { pathPrefixes: [`/${a}`] } });
    const before = await flushed();
    const b = nameOutside("idx", shardOf(a));
    await createService(b, { routes: { pathPrefixes: [`/${b}`] } });
    const after = await flushed();
    expect(after.version).toBeGreaterThan(before.version);
    const moved = Array.from({ length: ROUTE_SHARDS }, (_, s) => s).filter((s) => after.shards[s] !== before.shards[s]);
    expect(moved).toEqual([shardOf(b)]);
    const shard = await env.REGISTRY.get<RouteShard>(routeShardKey(shardOf(b)), "json");
    expect(shard?.services.map((s) => s.name)).toContain(b);
  });

  it("group-commits: changes inside a second wait for one flush, at least a second after the last", async () => {
    const names = [uniqueName("burst"), uniqueName("burst"), uniqueName("burst")];
    await flushed();
    for (const n of names) await createService(n, { routes: { pathPrefixes: [`/${n}`] } });
    const state = await registry().state();
    const alarm = await runInDurableObject(registry(), (_i, s) => s.storage.getAlarm());
    // Written already, or due no sooner than FLUSH_SPACING_MS after the last flush.
    if (state.shards.some((v, s) => v !== state.written[s])) expect(alarm).toBeGreaterThanOrEqual(state.lastFlushAt + FLUSH_SPACING_MS);
    const after = await flushed();
    for (const n of names) expect(after.shards[shardOf(n)]).toBe(state.shards[shardOf(n)]);
  });

  it("routes a new service in this isolate at once, and a cold isolate from the shards after the flush", async () => {
    const name = uniqueName("cold");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    // Routed (no instances: 503), not 404, before any flush reached KV.
    expect((await mesh(`/${name}/x`)).status).toBe(503);
    await flushed();
    invalidateRouteCache();
    expect((await mesh(`/${name}/x`)).status).toBe(503);
    expect((await mesh(`/nobody-${name}/x`)).status).toBe(404);
  });

  it("stops routing a deleted service in this isolate at once, and in KV after the flush", async () => {
    const name = uniqueName("gone");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    await flushed();
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect((await mesh(`/${name}/x`)).status).toBe(404);
    await flushed();
    const shard = await env.REGISTRY.get<RouteShard>(routeShardKey(shardOf(name)), "json");
    expect(shard?.services.map((s) => s.name)).not.toContain(name);
  });

  it("a change whose reply reaches this isolate after a later change of the same service does not undo it", async () => {
    const name = uniqueName("late");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const created = (await registry().state()).shards[shardOf(name)] ?? 0;
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect((await mesh(`/${name}/x`)).status).toBe(404);
    // The PUT's reply, as if its RPC had returned after the DELETE's (replies can cross): its shard version is the older.
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${name}`] } });
    noteRouteChange(name, routedService(name, config), shardOf(name), created, Date.now());
    expect((await mesh(`/${name}/x`)).status).toBe(404);
  });

  it("refuses a route another service owns with 409, and writes nothing for the refused service", async () => {
    const owner = uniqueName("own");
    await createService(owner, { routes: { pathPrefixes: [`/${owner}`] } });
    const thief = uniqueName("thief");
    const res = await mesh(`/_mesh/v1/services/${thief}`, json("PUT", { routes: { pathPrefixes: [`/${owner}/`] } }));
    expect(res.status).toBe(409);
    expect(await res.json<{ error: string; message: string }>()).toMatchObject({ error: "conflict", message: expect.stringContaining(owner) as string });
    expect(await env.REGISTRY.get(KEY.service(thief))).toBeNull();
  });

  it("reads the single-key index of earlier releases while no version key exists", async () => {
    const saved = await env.REGISTRY.get(ROUTE_VERSION_KEY, "text");
    const legacy = uniqueName("legacy");
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${legacy}`] } });
    await env.REGISTRY.delete(ROUTE_VERSION_KEY);
    await env.REGISTRY.put(KEY.routeIndex, JSON.stringify({ version: 3, generatedAt: 0, services: [routedService(legacy, config)] }));
    invalidateRouteCache();
    try {
      expect((await mesh(`/${legacy}/x`)).status).toBe(503);
    } finally {
      await env.REGISTRY.delete(KEY.routeIndex);
      if (saved !== null) await env.REGISTRY.put(ROUTE_VERSION_KEY, saved);
      invalidateRouteCache();
    }
  });

  it("a registry that starts after services exist loads them from their records before it checks a conflict", async () => {
    const owner = uniqueName("boot");
    await createService(owner, { routes: { pathPrefixes: [`/${owner}`] } });
    // A second registry object has never been written: it must bootstrap from the service records.
    const fresh = routeRegistry(env, uniqueName("registry"));
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${owner}`] } });
    const result = await fresh.put(uniqueName("late"), routedService("late", config));
    expect(result.conflict?.owner).toBe(owner);
    expect((await fresh.state()).services).toBeGreaterThanOrEqual(1);
  });
});
