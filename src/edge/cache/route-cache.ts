import { RouteTable } from "../../core/routes/route-table.js";
import { getRouteIndex } from "../../registry/kv-registry.js";
import type { RoutedService } from "../../registry/route-index.js";
import { refreshIdle } from "./refresh-gate.js";

/**
 * The route table, held in isolate memory. A warm isolate never reads KV on
 * the request path: once the table is older than ROUTE_TTL_MS the request that
 * notices is served from the old table and a refresh runs in waitUntil. Only a
 * cold isolate waits for one KV read. Control-plane writes in this isolate drop
 * the cache at once; other isolates see them within the TTL plus KV's own
 * propagation delay (up to 60 s across locations).
 */
export const ROUTE_TTL_MS = 5_000;

export interface LoadedRoutes {
  table: RouteTable;
  services: Map<string, RoutedService>;
  version: number;
  loadedAt: number;
}

let current: LoadedRoutes | null = null;
/** When the background refresh in flight started; null when none is. */
let refreshStartedAt: number | null = null;

export function invalidateRouteCache(): void {
  current = null;
}

async function load(kv: KVNamespace, now: number): Promise<LoadedRoutes> {
  const index = await getRouteIndex(kv);
  const services = index?.services ?? [];
  return {
    table: new RouteTable(services.map((s) => ({ service: s.name, ...s.routes }))),
    services: new Map(services.map((s) => [s.name, s])),
    version: index?.version ?? 0,
    loadedAt: now,
  };
}

export async function getRoutes(env: Env, ctx: ExecutionContext, now: number): Promise<LoadedRoutes> {
  const cached = current;
  if (cached !== null) {
    if (now - cached.loadedAt >= ROUTE_TTL_MS && refreshIdle(refreshStartedAt, now)) {
      const started = now;
      refreshStartedAt = started;
      ctx.waitUntil(
        load(env.REGISTRY, now)
          .then((fresh) => {
            // Keep the old table object when nothing changed: its maps stay warm.
            current = current !== null && fresh.version === current.version ? { ...current, loadedAt: now } : fresh;
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
  const fresh = await load(env.REGISTRY, now);
  current = fresh;
  return fresh;
}
