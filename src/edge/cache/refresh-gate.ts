/**
 * Both isolate caches (routes, snapshots) refresh in the background through
 * ctx.waitUntil, one refresh at a time. A refresh that has not settled after
 * REFRESH_GIVE_UP_MS is presumed lost (the runtime cancelled the request that
 * carried it) and no longer holds the next one back.
 */
export const REFRESH_GIVE_UP_MS = 10_000;

/** True when no refresh is running, or the one that is has been given up. */
export function refreshIdle(startedAt: number | null, now: number): boolean {
  return startedAt === null || now - startedAt > REFRESH_GIVE_UP_MS;
}
