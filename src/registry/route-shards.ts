import type { RoutedService } from "./route-index.js";

/**
 * The route index in KV, split into ROUTE_SHARDS keys by a hash of the
 * service name, plus one small version key (docs/storage.md, "Route index").
 * A service change rewrites one shard and the version key, never the whole
 * table, and KV's one-write-per-second-per-key limit applies per shard rather
 * than to every change in the mesh. Routers read the version key on each
 * refresh and then only the shards whose version moved; a cold isolate reads
 * every shard, in parallel.
 */
export const ROUTE_SHARDS = 16;

/** `routes:v` and `routes:s:00` … `routes:s:15`. */
export const ROUTE_VERSION_KEY = "routes:v";
export const routeShardKey = (shard: number): string => `routes:s:${String(shard).padStart(2, "0")}`;

export interface RouteShard {
  shard: number;
  /** Increases with every change to a service in this shard. */
  version: number;
  generatedAt: number;
  services: RoutedService[];
}

export interface RouteVersions {
  /** Increases with every flush; a router that holds it has nothing to read. */
  version: number;
  generatedAt: number;
  /** shards[i] is shard i's version as last written. */
  shards: number[];
}

/** FNV-1a over the name's UTF-16 code units: stable across runtimes and releases, which the layout depends on. */
export function shardOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % ROUTE_SHARDS;
}

/** Shards a router must (re)read: those whose written version differs from the one it holds (absent: never read). */
export function shardsToRead(held: ReadonlyMap<number, number>, latest: RouteVersions): number[] {
  const out: number[] = [];
  for (let s = 0; s < ROUTE_SHARDS; s++) {
    const v = latest.shards[s] ?? 0;
    if (held.get(s) !== v) out.push(s);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A stored version key, or null when it is not one (a router then keeps what it has). */
export function parseRouteVersions(v: unknown): RouteVersions | null {
  if (!isObject(v) || typeof v.version !== "number" || !Array.isArray(v.shards)) return null;
  const shards = v.shards as unknown[];
  if (shards.length !== ROUTE_SHARDS || !shards.every((s) => typeof s === "number")) return null;
  return { version: v.version, generatedAt: typeof v.generatedAt === "number" ? v.generatedAt : 0, shards };
}

/** A stored shard, or null when it is not one. Services are checked for the fields the route table reads. */
export function parseRouteShard(v: unknown, shard: number): RouteShard | null {
  if (!isObject(v) || v.shard !== shard || typeof v.version !== "number" || !Array.isArray(v.services)) return null;
  const services = v.services as unknown[];
  const ok = services.every((s) => isObject(s) && typeof s.name === "string" && isObject(s.routes));
  if (!ok) return null;
  return { shard, version: v.version, generatedAt: typeof v.generatedAt === "number" ? v.generatedAt : 0, services: services as RoutedService[] };
}

/** One shard as a router holds it. */
export interface HeldShard {
  version: number;
  services: readonly RoutedService[];
}

/**
 * A change this isolate made through the API, applied on top of what it read
 * from KV until the shard it lives in reaches `shardVersion` (or `until`
 * passes): the route registry writes KV up to a second later (group commit),
 * and the admin who just created a service expects its next request to route.
 */
export interface LocalRouteChange {
  name: string;
  routed: RoutedService | null;
  shard: number;
  shardVersion: number;
  until: number;
}

/** Every routed service: the shards held, with the local changes they have not caught up with, sorted by name. */
export function mergeRoutes(shards: ReadonlyMap<number, HeldShard>, local: Iterable<LocalRouteChange>, now: number): RoutedService[] {
  const byName = new Map<string, RoutedService>();
  for (const shard of shards.values()) for (const s of shard.services) byName.set(s.name, s);
  for (const change of local) {
    if (now >= change.until || (shards.get(change.shard)?.version ?? 0) >= change.shardVersion) continue;
    if (change.routed === null) byName.delete(change.name);
    else byName.set(change.name, change.routed);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
