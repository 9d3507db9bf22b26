import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTE_CHANGE_HOLD_MS, routeRegistry } from "../../../src/registry/route-registry.js";
import type { RoutedService } from "../../../src/registry/route-index.js";
import { routeShardKey, shardOf, type RouteShard } from "../../../src/registry/route-shards.js";
import { sweepAll, type SweepRecord } from "../../../src/sweep/sweep.js";
import { ADMIN, createService, flushRouteIndex, json, mesh, uniqueName } from "../helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

/** The entry every router in the world reads for `name`, once the registry's changes are in KV. */
async function indexed(name: string): Promise<RoutedService | undefined> {
  await flushRouteIndex();
  const shard = await env.REGISTRY.get<RouteShard>(routeShardKey(shardOf(name)), "json");
  return shard?.services.find((s) => s.name === name);
}

/** A sweep from a location whose KV has not caught up: the caller has put KV into the state that location sees. */
async function staleSweep(readAt = Date.now()): Promise<SweepRecord> {
  const record = await sweepAll(env, readAt);
  expect(record.errors).toEqual([]);
  return record;
}

/** A service created through the API whose record the sweep's list does not show yet. */
async function createdUnlisted(): Promise<string> {
  const name = uniqueName("new");
  await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
  await env.REGISTRY.delete(`service:${name}`);
  return name;
}

/** A service whose routes were replaced through the API, with its older record (old routes) back in KV. */
async function replacedStale(): Promise<string> {
  const name = uniqueName("moved");
  await createService(name, { routes: { pathPrefixes: [`/${name}-old`] } });
  const old = await env.REGISTRY.get(`service:${name}`, "text");
  expect((await mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes: { pathPrefixes: [`/${name}-new`] } }))).status).toBe(200);
  await env.REGISTRY.put(`service:${name}`, old ?? "");
  return name;
}

/** A service deleted through the API whose record a stale read still returns. */
async function deletedStale(): Promise<string> {
  const name = uniqueName("gone");
  await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
  const old = await env.REGISTRY.get(`service:${name}`, "text");
  expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
  await env.REGISTRY.put(`service:${name}`, old ?? "");
  return name;
}

const prefixes = async (name: string) => (await indexed(name))?.routes.pathPrefixes;

describe("the sweep's route repair leaves alone what an admin changed within the hold (KV lags up to 60 s)", () => {
  it("keeps a service created seconds ago that the sweep's list does not show yet", async () => {
    const name = await createdUnlisted();
    // The sweep record says the rebuild waited, so an operator can tell it from one that found nothing to repair.
    expect((await staleSweep()).routeHeld).toBeGreaterThanOrEqual(1);
    expect(await prefixes(name)).toEqual([`/${name}`]);
  });

  it("keeps the new routes of a service whose record, as the sweep read it, still has the old ones", async () => {
    const name = await replacedStale();
    await staleSweep();
    expect(await prefixes(name)).toEqual([`/${name}-new`]);
  });

  it("does not bring back a service deleted seconds ago whose old record the sweep still read", async () => {
    const name = await deletedStale();
    await staleSweep();
    expect(await indexed(name)).toBeUndefined();
  });

  it("past the hold, repairs as before: a registry write whose record write failed, a lost rollback, a failed record delete", async () => {
    // Past the hold KV has caught up everywhere, so what the sweep reads is what KV holds: the registry follows it.
    const created = await createdUnlisted();
    const replaced = await replacedStale();
    const deleted = await deletedStale();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + ROUTE_CHANGE_HOLD_MS + 1_000);
    expect((await staleSweep()).routeHeld).toBe(0);
    expect(await indexed(created)).toBeUndefined();
    expect(await prefixes(replaced)).toEqual([`/${replaced}-old`]);
    expect(await prefixes(deleted)).toEqual([`/${deleted}`]);
    // The marks the hold read are pruned once past it.
    const marks = await runInDurableObject(routeRegistry(env), (_i, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM route_changes WHERE name IN (?, ?, ?)", created, replaced, deleted).one().n,
    );
    expect(marks).toBe(0);
  });

  it("the marks outlive the registry's eviction between the PUT and the sweep", async () => {
    const created = await createdUnlisted();
    const replaced = await replacedStale();
    await runInDurableObject(routeRegistry(env), (_i, state) => state.abort("test: evicted after the PUT")).catch(() => undefined);
    const marked = await runInDurableObject(routeRegistry(env), (_i, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM route_changes WHERE name IN (?, ?) ORDER BY name", created, replaced).toArray(),
    );
    expect(marked.map((r) => r.name)).toEqual([created, replaced].sort());
    await staleSweep();
    expect(await prefixes(created)).toEqual([`/${created}`]);
    expect(await prefixes(replaced)).toEqual([`/${replaced}-new`]);
  });

  it("counts the hold from when the sweep began reading KV, not from when its rebuild reaches the registry", async () => {
    const name = await createdUnlisted();
    // The records were read just inside the hold; the coordinators swept in between took the registry's clock past it.
    const readAt = Date.now() + ROUTE_CHANGE_HOLD_MS - 5_000;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(readAt + 10_000);
    await staleSweep(readAt);
    expect(await prefixes(name)).toEqual([`/${name}`]);
  });
});
