import { RouteTable } from "../../core/routes/route-table.js";
import { KEY } from "../../registry/keys.js";
import type { RouteIndex, RoutedService } from "../../registry/route-index.js";
import {
  mergeRoutes,
  parseRouteShard,
  parseRouteVersions,
  ROUTE_VERSION_KEY,
  routeShardKey,
  shardsToRead,
  type HeldShard,
  type LocalRouteChange,
} from "../../registry/route-shards.js";
import { refreshIdle } from "./refresh-gate.js";

/**
 * The route table, held in isolate memory. A warm isolate never reads KV on
 * the request path: once the table is older than ROUTE_TTL_MS the request that
 * notices is served from the old table and a refresh runs in waitUntil. The
 * refresh reads the small version key and then only the shards that changed
 * (src/registry/route-shards.ts). Only a cold isolate waits, for the version
 * key and every shard, read in parallel. Control-plane writes in this isolate
 * apply at once (noteRouteChange); other isolates see them within the TTL plus
 * the registry's group commit (≤ 1 s) and KV's own propagation (up to 60 s
 * across locations).
 */
export const ROUTE_TTL_MS = 5_000;
/** The longest a local change overrides what KV says; past it KV has caught up, or the sweep repairs it. */
export const LOCAL_CHANGE_TTL_MS = 60_000;

export interface LoadedRoutes {
  table: RouteTable;
  services: Map<string, RoutedService>;
  /** The version key's version (0: no index yet, or the single-key index of earlier releases). */
  version: number;
  loadedAt: number;
  shards: Map<number, HeldShard>;
}

let current: LoadedRoutes | null = null;
/** When the background refresh in flight started; null when none is. */
let refreshStartedAt: number | null = null;
const localChanges = new Map<string, LocalRouteChange>();

export function invalidateRouteCache(): void {
  current = null;
}

/**
 * A service change this isolate's API has just made (the registry accepted
 * it as `shardVersion` of `shard`): routed here at once, before KV has it.
 */
export function noteRouteChange(name: string, routed: RoutedService | null, shard: number, shardVersion: number, now: number): void {
  // Two API calls' replies can reach this isolate in either order: the registry's shard version says which change came last.
  const held = localChanges.get(name);
  if (held !== undefined && held.shardVersion > shardVersion && now < held.until) return;
  localChanges.set(name, { name, routed, shard, shardVersion, until: now + LOCAL_CHANGE_TTL_MS });
  if (current !== null) current = build(current.shards, current.version, current.loadedAt, now);
}

function build(shards: Map<number, HeldShard>, version: number, loadedAt: number, now: number): LoadedRoutes {
  for (const [name, change] of localChanges) {
    if (now >= change.until || (shards.get(change.shard)?.version ?? 0) >= change.shardVersion) localChanges.delete(name);
  }
  const services = mergeRoutes(shards, localChanges.values(), now);
  return {
    table: new RouteTable(services.map((s) => ({ service: s.name, ...s.routes }))),
    services: new Map(services.map((s) => [s.name, s])),
    version,
    loadedAt,
    shards,
  };
}

async function load(kv: KVNamespace, prev: LoadedRoutes | null, now: number): Promise<LoadedRoutes> {
  const versions = parseRouteVersions(await kv.get(ROUTE_VERSION_KEY, "json"));
  if (versions === null) return loadLegacy(kv, now);
  // Nothing changed: keep the old table object, whose maps stay warm.
  if (prev !== null && prev.version === versions.version && prev.shards.size > 0) return { ...prev, loadedAt: now };
  const held = new Map(prev?.version === 0 ? [] : (prev?.shards ?? []));
  const heldVersions = new Map([...held].map(([s, h]) => [s, h.version]));
  const read = await Promise.all(
    shardsToRead(heldVersions, versions).map(async (s) => {
      // A shard never written is empty; no read needed.
      if ((versions.shards[s] ?? 0) === 0) return { s, shard: { version: 0, services: [] } satisfies HeldShard };
      const parsed = parseRouteShard(await kv.get(routeShardKey(s), "json"), s);
      return { s, shard: parsed };
    }),
  );
  for (const { s, shard } of read) {
    // Missing or malformed (KV not caught up yet, or damaged): keep what we had; the next refresh asks again.
    if (shard === null) console.error(JSON.stringify({ event: "route_shard_unreadable", shard: s }));
    else held.set(s, shard);
  }
  return build(held, versions.version, now, now);
}

/** Before the first flush of the sharded layout: the single `routes` key of earlier releases, if any. */
async function loadLegacy(kv: KVNamespace, now: number): Promise<LoadedRoutes> {
  const index = await kv.get<RouteIndex>(KEY.routeIndex, "json");
  const shards = new Map<number, HeldShard>();
  if (index !== null) shards.set(-1, { version: 0, services: index.services });
  return build(shards, 0, now, now);
}

export async function getRoutes(env: Env, ctx: ExecutionContext, now: number): Promise<LoadedRoutes> {
  const cached = current;
  if (cached !== null) {
    if (now - cached.loadedAt >= ROUTE_TTL_MS && refreshIdle(refreshStartedAt, now)) {
      const started = now;
      refreshStartedAt = started;
      ctx.waitUntil(
        load(env.REGISTRY, cached, now)
          .then((fresh) => {
            // A change this isolate made while the refresh ran is still to be laid over it.
            current = localChanges.size > 0 ? build(fresh.shards, fresh.version, fresh.loadedAt, Date.now()) : fresh;
          })
          .catch((err: unknown) => console.error(JSON.stringify({ event: "route_refresh_failed", message: String(err) })))
          .finally(() => {
            // A refresh given up as lost must not clear the mark of the one started after it.
            if (refreshStartedAt === started) refreshStartedAt = null;
          }),
      );
    }
    return cached;
  }
  // Cold isolate: each request loads on its own rather than awaiting a promise
  // begun by another request, which the runtime may cancel when that request ends.
  const fresh = await load(env.REGISTRY, null, now);
  current = fresh;
  return fresh;
}
