import type { Turn } from "../../core/admin/admin-queue.js";
import { STUB_RETRY, withStubRetry } from "../../core/rpc/stub-retry.js";
import type { RoutedService } from "../../registry/route-index.js";
import { routeRegistry, type PutRouteResult } from "../../registry/route-registry.js";

/*
 * A service's route claims in the route registry (the one writer of the route
 * index), as the service's admin writes (admin-writes.ts) make them. Errors
 * are returned or logged here, never thrown as HTTP errors: these run inside
 * the coordinator, and the API turns the outcome into its answer.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sets (null: removes) `name`'s routes in the route registry; `conflict` is set when another service
 * owns one of them, and then nothing changed. Throws when the registry cannot be reached: a claim
 * whose answer was lost may have been applied, and the cron sweep rebuilds the registry from the
 * records once the claim is past ROUTE_CHANGE_HOLD_MS (2 min), within a minute after. Not retried
 * once the admin queue has passed the write (`turn`): the retry would be a new claim, sent after a
 * later write's.
 */
export async function claimRoutes(env: Env, name: string, routed: RoutedService | null, turn: Turn): Promise<PutRouteResult> {
  const r = await withStubRetry(() => routeRegistry(env).put(name, routed), { ...STUB_RETRY, random: Math.random, sleep, stop: () => turn.passed });
  return { conflict: r.conflict, previous: r.previous, shard: r.shard, shardVersion: r.shardVersion };
}

/**
 * Puts back what a claim replaced, after a later write of the same change
 * failed. The claim let the old routes go, and another service may have
 * claimed them meanwhile: then the claim is dropped instead. Keeping it left
 * the service holding routes no record of it names, which no other service
 * could claim, for good (the sweep's rebuild keeps the entry of a service
 * whose record conflicts). Best effort: if the registry cannot be reached, the
 * cron sweep rebuilds it from the service records once the claim is past
 * ROUTE_CHANGE_HOLD_MS (2 min), within a minute after.
 */
export async function releaseRoutes(env: Env, name: string, previous: RoutedService | null, turn: Turn): Promise<void> {
  try {
    const restored = await claimRoutes(env, name, previous, turn);
    if (restored.conflict === null) return;
    console.error(JSON.stringify({ event: "route_claim_rollback_conflict", service: name, owner: restored.conflict.owner, prefix: restored.conflict.prefix }));
    // Passed meanwhile: a later write's claim may have come since, and dropping the routes now would undo it.
    if (turn.passed) return;
    await claimRoutes(env, name, null, turn);
  } catch (err) {
    console.error(JSON.stringify({ event: "route_claim_rollback_failed", service: name, message: String(err) }));
  }
}
