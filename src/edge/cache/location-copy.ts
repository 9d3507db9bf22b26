import type { RefreshClaim } from "../../core/location-share/refresh-claim.js";
import type { Snapshot } from "../../core/snapshot.js";
import { withTimeout } from "./with-timeout.js";

/**
 * One copy of each service's snapshot per Cloudflare location, in the Cache
 * API (which is per data center and shared by every isolate of the zone
 * there). The isolate whose snapshot falls due first asks the coordinator and
 * leaves a copy; the others in the location read the copy instead of sending
 * their own RPC. So a coordinator's snapshot load grows with locations, not
 * isolates (docs/architecture.md, "Coordinator load").
 *
 * The copy carries when it was fetched, and an isolate that adopts it counts
 * its snapshot's age from then, not from its read: the staleness bound stays
 * SNAPSHOT_TTL_MS, as without sharing. A local mark (a failed try) skips the
 * copy and asks the coordinator, so failover timing is unchanged too.
 *
 * Isolates that fall due together settle who asks through a claim, a second
 * key beside the copy (src/core/location-share/refresh-claim.ts): one asks,
 * the others wait for its copy.
 *
 * Limits: the Cache API does nothing on *.workers.dev and in the dashboard
 * preview (Cloudflare's docs: only custom domains have a working cache), so
 * there every isolate asks the coordinator as before. The claim is no lock: if
 * a put is not visible to the others within the claim's settle wait, more than
 * one isolate asks.
 */

/** A cache key only; nothing is ever fetched from it. */
const KEY_ORIGIN = "https://snapshots.switchyard.invalid/";
/** The cache keeps a copy at most this long; the reader judges freshness from `fetchedAt`. */
const COPY_MAX_AGE_S = 5;
/** A cache read is local to the data center (about a millisecond); one slower than this is not worth waiting for. */
const READ_TIMEOUT_MS = 100;

export interface LocationCopy {
  snapshot: Snapshot;
  /** Router clock when the coordinator answered. */
  fetchedAt: number;
}

function keyFor(service: string): string {
  return `${KEY_ORIGIN}${encodeURIComponent(service)}`;
}

/** A service name is encoded whole (its "/" too), so no copy key starts with this. */
function claimKeyFor(service: string): string {
  return `${KEY_ORIGIN}claim/${encodeURIComponent(service)}`;
}

function isClaim(v: unknown): v is RefreshClaim {
  if (typeof v !== "object" || v === null) return false;
  const c = v as { id?: unknown; at?: unknown };
  return typeof c.id === "string" && typeof c.at === "number" && Number.isFinite(c.at);
}

function isCopy(v: unknown): v is LocationCopy {
  if (typeof v !== "object" || v === null) return false;
  const c = v as { snapshot?: unknown; fetchedAt?: unknown };
  if (typeof c.fetchedAt !== "number" || typeof c.snapshot !== "object" || c.snapshot === null) return false;
  const s = c.snapshot as { version?: unknown; instances?: unknown; service?: unknown };
  return typeof s.version === "number" && Array.isArray(s.instances) && typeof s.service === "string";
}

/** The location's copy, or null: none, unreadable, or the cache too slow. Never throws. */
export async function readLocationCopy(service: string): Promise<LocationCopy | null> {
  try {
    const res = await withTimeout(caches.default.match(keyFor(service)), READ_TIMEOUT_MS, "location copy");
    if (res === undefined) return null;
    const body: unknown = await res.json();
    return isCopy(body) && body.snapshot.service === service ? body : null;
  } catch {
    return null;
  }
}

/** Leaves a copy for the other isolates of this location. Best effort: a failed put only costs them an RPC. */
export async function writeLocationCopy(service: string, copy: LocationCopy): Promise<void> {
  try {
    const res = new Response(JSON.stringify(copy), {
      headers: { "content-type": "application/json", "cache-control": `max-age=${COPY_MAX_AGE_S}` },
    });
    await caches.default.put(keyFor(service), res);
  } catch (err) {
    console.error(JSON.stringify({ event: "location_copy_failed", service, message: String(err) }));
  }
}

/** The refresh claim, or null: none, or unreadable. Throws when the cache does (the caller then asks the coordinator). */
export async function readRefreshClaim(service: string): Promise<RefreshClaim | null> {
  const res = await withTimeout(caches.default.match(claimKeyFor(service)), READ_TIMEOUT_MS, "refresh claim");
  if (res === undefined) return null;
  const body: unknown = await res.json().catch(() => null);
  return isClaim(body) ? body : null;
}

/** Puts this isolate's claim; the cache keeps it as long as a copy, the claim's own clock says when it lapses. */
export async function writeRefreshClaim(service: string, claim: RefreshClaim): Promise<void> {
  const res = new Response(JSON.stringify(claim), {
    headers: { "content-type": "application/json", "cache-control": `max-age=${COPY_MAX_AGE_S}` },
  });
  await caches.default.put(claimKeyFor(service), res);
}

/** Drops the copy, after a membership change this isolate made. Best effort, like the put. */
export async function deleteLocationCopy(service: string): Promise<void> {
  try {
    await caches.default.delete(keyFor(service));
  } catch (err) {
    console.error(JSON.stringify({ event: "location_copy_failed", service, message: String(err) }));
  }
}
