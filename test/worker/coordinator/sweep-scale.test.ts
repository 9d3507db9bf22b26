import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepAll } from "../../../src/sweep/sweep.js";
import { routeRegistry } from "../../../src/registry/route-registry.js";
import { ADMIN, flushRouteIndex, mesh, seedServiceRecords, uniqueName } from "../helpers.js";

/**
 * Reads through the real REGISTRY binding, counted: a Worker invocation may
 * make at most 1,000 KV operations, which Miniflare does not enforce, so the
 * count is what shows whether a sweep of a big deployment stays inside it.
 */
function countingKv(kv: KVNamespace): { kv: KVNamespace; reads: () => number } {
  let reads = 0;
  const counted = new Proxy(kv, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        if (prop === "get" || prop === "getWithMetadata") reads++;
        return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
      };
    },
  });
  return { kv: counted, reads: () => reads };
}

describe("sweep of many services", () => {
  it("reads 150 service records in two bulk KV reads, not 150 gets, and still sweeps each and lists each", async () => {
    const prefix = uniqueName("many");
    const names = Array.from({ length: 150 }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
    await seedServiceRecords(names);
    const counted = countingKv(env.REGISTRY);
    const record = await sweepAll({ ...env, REGISTRY: counted.kv }, Date.now());
    expect(record.errors).toEqual([]);
    expect(record.services).toBeGreaterThanOrEqual(150);
    // One bulk read per 100 records (the services of this file's other tests included), and sweep:last for where to start.
    expect(counted.reads()).toBe(Math.ceil(record.services / 100) + 1);
    // Every service's coordinator was configured from its record and swept, and every service is listed.
    const described = await (await mesh(`/_mesh/v1/services/${names[149] ?? ""}`, { headers: ADMIN })).json<{ snapshotVersion: number }>();
    expect(described.snapshotVersion).toBeGreaterThan(0);
    const listed = await (await mesh("/_mesh/v1/services", { headers: ADMIN })).json<{ services: { name: string }[] }>();
    const listedNames = new Set(listed.services.map((s) => s.name));
    expect(names.filter((n) => !listedNames.has(n))).toEqual([]);
  }, 60_000);

  it("past the first hundred, a damaged record is still named by the sweep and the list, and the route index is left as it was", async () => {
    const prefix = uniqueName("dmg");
    const names = Array.from({ length: 120 }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
    await seedServiceRecords(names);
    const damaged = names[115] ?? "";
    await env.REGISTRY.put(`service:${damaged}`, "{not json");
    // Any group commit left from earlier calls lands first, so the version read here is the settled one.
    await flushRouteIndex();
    const before = (await routeRegistry(env).state()).version;
    const record = await sweepAll(env, Date.now());
    // Not rebuilt without that record: it would drop the damaged service's routes unseen.
    expect(record.routeIndexVersion).toBe(before);
    expect(record.errors.map((e) => e.service)).toEqual([damaged]);
    expect(record.errors[0]?.message).toMatch(/record_unreadable|is not JSON/);
    const listed = await (await mesh("/_mesh/v1/services", { headers: ADMIN })).json<{ services: { name: string }[]; unreadable?: string[] }>();
    expect(listed.unreadable).toEqual([damaged]);
    expect(listed.services.some((s) => s.name === names[119])).toBe(true);
  }, 60_000);
});
