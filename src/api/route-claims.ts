import { MeshError } from "../core/errors.js";
import { STUB_RETRY, withStubRetry } from "../core/rpc/stub-retry.js";
import type { RoutedService } from "../registry/route-index.js";
import { routeRegistry, type PutRouteResult } from "../registry/route-registry.js";


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function putRoutes(env: Env, name: string, routed: RoutedService | null): Promise<PutRouteResult> {
  const r = await withStubRetry(() => routeRegistry(env).put(name, routed), { ...STUB_RETRY, random: Math.random, sleep });
  return { conflict: r.conflict, previous: r.previous, shard: r.shard, shardVersion: r.shardVersion };
}

/** Sets (null: removes) `name`'s routes in the route registry; 409 when another service owns one of them. */
export async function claimRoutes(env: Env, name: string, routed: RoutedService | null): Promise<PutRouteResult> {
  let result: PutRouteResult;
  try {
    result = await putRoutes(env, name, routed);
  } catch (err) {
    // Not "nothing was changed": a claim whose answer was lost may have been applied. The record and the
    // coordinator were not written, and the cron sweep rebuilds the registry from the records once the claim
    // is past ROUTE_CHANGE_HOLD_MS (2 min; until then the sweep's KV may not show it), within a minute after.
    console.error(JSON.stringify({ event: "route_registry_unavailable", service: name, message: String(err) }));
    throw new MeshError(503, "registry_unavailable", "the route registry could not be reached; the service was not written, retry shortly", {
      headers: { "retry-after": "1" },
    });
  }
  const clash = result.conflict;
  if (clash !== null) {
    throw new MeshError(409, "conflict", `route ${clash.host ?? "any host"} ${clash.prefix} is already served by service '${clash.owner}'`);
  }
  return result;
}

/**
 * Puts back what a claim replaced, after a later write of the same change
 * failed. Best effort: if it fails too, the cron sweep rebuilds the registry
 * from the service records once the claim is past ROUTE_CHANGE_HOLD_MS
 * (2 min), within a minute after.
 */
export async function releaseRoutes(env: Env, name: string, previous: RoutedService | null): Promise<void> {
  try {
    await putRoutes(env, name, previous);
  } catch (err) {
    console.error(JSON.stringify({ event: "route_claim_rollback_failed", service: name, message: String(err) }));
  }
}
