import { SlotPool, type SlotGrant } from "../../core/strict/slot-pool.js";
import { coordinator } from "../../coordinator/stub.js";
import { withTimeout } from "../cache/with-timeout.js";
import { GIVE_UP_MS, PICK_TIMEOUT_MS, type StrictPick } from "./strict-pick-batcher.js";

/**
 * Strict mode's first picks come from leased rotation slots
 * (core/strict/slot-pool.ts): one coordinator RPC per block of k picks
 * instead of one per round trip. The isolate renews in the background when
 * half a block is left, so under steady load no request waits for the
 * coordinator. A retry takes the next slot that names an instance it has not
 * tried; when the pool has none, the caller asks the pick batcher with the
 * exclusions (strict-pick-batcher.ts), as before.
 *
 * Request contexts, as in the batcher: a renewal is sent by one request and
 * held open with its ctx.waitUntil; a request that waits for a renewal another
 * request sent waits with a timer of its own (withTimeout), which keeps
 * workerd from cancelling it as hung, and holds its own context open while it
 * waits. A renewal whose sender's context was torn down stops counting as in
 * flight after STALE_RENEWAL_MS.
 *
 * STRICT_LEASES = "off" turns leasing off: every strict pick is then its own
 * slot of the rotation, asked for through the batcher (exact across isolates,
 * at one RPC per round trip).
 */
const STALE_RENEWAL_MS = PICK_TIMEOUT_MS + 500;

interface Lease {
  pool: SlotPool;
  renewal: { promise: Promise<void>; sentAt: number } | null;
  /** Bumped by revokeLeases: a grant asked for before it is dropped. */
  epoch: number;
  /** First picks now waiting for a renewal: the next block covers them. */
  waiting: number;
}

const leases = new Map<string, Lease>();

export const leasesOn = (env: Env): boolean => env.STRICT_LEASES !== "off";

function leaseFor(service: string): Lease {
  let lease = leases.get(service);
  if (lease === undefined) {
    lease = { pool: new SlotPool(), renewal: null, epoch: 0, waiting: 0 };
    leases.set(service, lease);
  }
  return lease;
}

function renewing(lease: Lease, now: number): Promise<void> | null {
  const r = lease.renewal;
  return r !== null && now - r.sentAt < STALE_RENEWAL_MS ? r.promise : null;
}

/** Asks the coordinator for the next block, from this request's context. */
function renew(env: Env, ctx: ExecutionContext, service: string, lease: Lease, now: number): Promise<void> {
  const ask = lease.pool.nextAsk(now, lease.waiting);
  let rpc: Promise<SlotGrant>;
  try {
    rpc = coordinator(env, service).leaseSlots(ask);
  } catch (err) {
    rpc = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  const flight = { promise: Promise.resolve(), sentAt: now };
  const epoch = lease.epoch;
  flight.promise = withTimeout(rpc, PICK_TIMEOUT_MS, "slot lease")
    .then((grant) => {
      if (!grant.ok) throw new Error(`coordinator refused the lease: ${grant.error} (max ${grant.max})`);
      // Asked for before a revocation: its slots may name the instance just removed.
      if (lease.epoch !== epoch) return;
      lease.pool.absorb(grant, Date.now());
    })
    .finally(() => {
      if (lease.renewal === flight) lease.renewal = null;
    });
  lease.renewal = flight;
  // A failed background renewal is logged here; a request waiting on it sees the error itself.
  ctx.waitUntil(
    flight.promise.catch((err: unknown) => {
      console.error(JSON.stringify({ event: "slot_lease_failed", service, message: String(err) }));
    }),
  );
  return flight.promise;
}

function served(lease: Lease, instance: StrictPick["instance"]): StrictPick {
  return { instance, allUnhealthy: lease.pool.allUnhealthy, version: lease.pool.version };
}

/**
 * The isolate's snapshot state for the service, as a strict request holds it
 * (LocalServiceState): a refresh replaces `snapshot` on this same object, so
 * reading it again sees a version that landed since.
 */
export interface HeldSnapshot {
  readonly snapshot: { readonly version: number };
}

/**
 * A strict pick from this isolate's leased slots. `held` is the isolate's
 * snapshot state (its refresh), whose newer version voids older slots. Null when the pool has no slot for a retry's exclusions: the caller
 * asks the batcher. Rejects when the coordinator cannot answer in time; the
 * caller falls back to snapshot mode.
 */
export async function leasedPick(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  exclude: ReadonlySet<string> | undefined,
  held: HeldSnapshot | null,
): Promise<StrictPick | null> {
  const lease = leaseFor(service);
  if (held !== null) lease.pool.observeVersion(held.snapshot.version);
  let now = Date.now();
  const instance = lease.pool.take(now, exclude);
  if (instance !== null) {
    if (renewing(lease, now) === null && lease.pool.wantsRenewal(now)) void renew(env, ctx, service, lease, now);
    return served(lease, instance);
  }
  if (exclude !== undefined && exclude.size > 0) return null;
  // Nothing left: wait for the renewal in flight, or send one.
  const deadline = now + GIVE_UP_MS;
  let release: (() => void) | null = null;
  lease.waiting++;
  try {
    for (;;) {
      const inFlight = renewing(lease, now);
      if (inFlight === null) {
        // Our own renewal, bounded by this pick's deadline as well as the RPC's timeout.
        await withTimeout(renew(env, ctx, service, lease, now), Math.max(1, deadline - now), "slot lease");
      } else {
        if (release === null) ctx.waitUntil(new Promise<void>((resolve) => (release = resolve)));
        await withTimeout(inFlight, Math.max(1, deadline - now), "waiting for a slot lease");
      }
      now = Date.now();
      // A refresh that landed while this pick waited is newer than a grant asked for before it: that grant is void.
      if (held !== null) lease.pool.observeVersion(held.snapshot.version);
      const next = lease.pool.take(now);
      if (next !== null) return served(lease, next);
      // An empty grant: nothing is routable now. Say so, as a strict pick of none would.
      if (lease.pool.lastGrantSize === 0 && renewing(lease, now) === null) return served(lease, null);
      if (now >= deadline) throw new DOMException(`no slot lease within ${GIVE_UP_MS} ms`, "TimeoutError");
    }
  } finally {
    lease.waiting--;
    // `release` is assigned inside a Promise executor, which TypeScript cannot see.
    (release as (() => void) | null)?.();
  }
}

/** Local evidence against an instance (a refused connection, a reset): its leased slots here are void. */
export function dropLeasedInstance(service: string, id: string): void {
  leases.get(service)?.pool.dropInstance(id);
}

/**
 * This isolate changed the service's membership (a deregistration through
 * the API): every slot it holds is void, and so is any grant already asked
 * for. The pool's rate estimate and the versions it has seen are kept.
 */
export function revokeLeases(service: string): void {
  const lease = leases.get(service);
  if (lease === undefined) return;
  lease.epoch++;
  lease.pool.clear();
  lease.renewal = null;
}
