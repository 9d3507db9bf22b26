import { describe, expect, it } from "vitest";
import {
  mergeRoutes,
  parseRouteShard,
  parseRouteVersions,
  ROUTE_SHARDS,
  routeShardKey,
  shardOf,
  shardsToRead,
  type HeldShard,
} from "../../../src/registry/route-shards.js";
import type { RoutedService } from "../../../src/registry/route-index.js";

const svc = (name: string, prefix = `/${name}`): RoutedService => ({
  name,
  routes: { hosts: [], pathPrefixes: [prefix], stripPrefix: false },
  balancer: "round_robin",
  mode: "snapshot",
  retry: { attempts: 3, perTryTimeoutMs: 5000, bodyIdleTimeoutMs: 30_000, readAheadMs: 100, retryOn: ["connect-failure"], budget: null },
  panic: false,
});

describe("route index shards", () => {
  it("places a name in the same shard on every call, and spreads 1,000 names over every shard", () => {
    expect(shardOf("shop")).toBe(shardOf("shop"));
    const counts = new Array<number>(ROUTE_SHARDS).fill(0);
    for (let i = 0; i < 1000; i++) {
      const s = shardOf(`s${String(i).padStart(4, "0")}`);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    // 62.5 expected per shard; FNV-1a keeps every shard within a factor of two of that.
    expect(Math.min(...counts)).toBeGreaterThan(31);
    expect(Math.max(...counts)).toBeLessThan(125);
    expect(routeShardKey(3)).toBe("routes:s:03");
  });

  it("names only the shards whose version moved", () => {
    const latest = { version: 9, generatedAt: 0, shards: Array.from({ length: ROUTE_SHARDS }, (_, s) => (s === 4 ? 7 : 1)) };
    const held = new Map(Array.from({ length: ROUTE_SHARDS }, (_, s) => [s, 1] as const));
    expect(shardsToRead(held, latest)).toEqual([4]);
    expect(shardsToRead(new Map(), latest)).toHaveLength(ROUTE_SHARDS);
  });

  it("refuses stored values that are not a version key or a shard", () => {
    expect(parseRouteVersions({ version: 1, shards: [1, 2] })).toBeNull();
    expect(parseRouteVersions(null)).toBeNull();
    expect(parseRouteVersions({ version: 1, generatedAt: 5, shards: new Array<number>(ROUTE_SHARDS).fill(0) })?.version).toBe(1);
    expect(parseRouteShard({ shard: 2, version: 1, services: [svc("a")] }, 3)).toBeNull();
    expect(parseRouteShard({ shard: 3, version: 1, services: [{ name: 1 }] }, 3)).toBeNull();
    expect(parseRouteShard({ shard: 3, version: 1, services: [svc("a")] }, 3)?.services).toHaveLength(1);
  });

  it("lays a local change over the shards until its shard catches up, or its time runs out", () => {
    const shards = new Map<number, HeldShard>([[shardOf("a"), { version: 1, services: [svc("a")] }]]);
    const added = { name: "b", routed: svc("b"), shard: shardOf("b"), shardVersion: 1, until: 100 };
    const removed = { name: "a", routed: null, shard: shardOf("a"), shardVersion: 2, until: 100 };
    expect(mergeRoutes(shards, [added, removed], 50).map((s) => s.name)).toEqual(["b"]);
    // Past `until`, KV's word stands.
    expect(mergeRoutes(shards, [added, removed], 100).map((s) => s.name)).toEqual(["a"]);
    // Once the shard holds the version the change made, the shard is the truth.
    const caughtUp = new Map(shards).set(shardOf("a"), { version: 2, services: [] });
    expect(mergeRoutes(caughtUp, [removed], 50)).toEqual([]);
  });
});
