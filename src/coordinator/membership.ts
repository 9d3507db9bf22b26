import { leaseAction, leaseLapsed, removalRule } from "../core/lease/lease.js";
import { admitNew, MAX_ACTIVE_INSTANCES } from "../core/membership/admission.js";
import { registerMember, type RegisterRequest } from "../core/membership/member.js";
import type { ServiceConfig } from "../core/schema/service.js";
import { instanceIdFor, type SnapshotInstance } from "../core/snapshot.js";
import { deleteInstance, putInstance } from "../registry/kv-registry.js";
import { logLeaseExpired } from "./events.js";
import { unmirror } from "./outbound/mirror.js";
import type { CoordinatorState } from "./state.js";

export type RegisterResult =
  | { ok: true; id: string; leaseExpiresAt: number; created: boolean }
  | { ok: false; error: "too_many_instances" | "service_deleted" | "mirror_unavailable" }
  | { ok: false; error: "too_many_members"; retryAfterMs: number };

/**
 * Registration, all or nothing: the KV mirror is written first and the member
 * is committed to the coordinator only once that write succeeded. If the
 * write fails, nothing changed anywhere and the caller gets a clean error.
 *
 * Why this order and not "commit, then roll back on failure": while the KV
 * write is in flight the input gate is open, so routers can fetch a snapshot;
 * a member committed first would be routed to and then vanish. The reverse
 * failure, a KV write that lands while the commit does not (the object is
 * reset between the two), leaves a mirror key for a member the coordinator
 * does not have; routers read the mirror only when the coordinator is
 * unreachable, the origin that wrote it is alive and registering, and the
 * sweep's mirror repair deletes the key within a minute. A repeat
 * registration that changes none of url, weight, zone, priority and location writes no KV at all
 * (KV takes one write per second per key).
 */
export class Registrations {
  /** Per id, the registration in progress: two registers of one URL run one after the other. */
  readonly #inFlight = new Map<string, Promise<RegisterResult>>();
  /** Every registration under way, from its first line (before its id is known): what a deregistration waits for. */
  readonly #running = new Set<Promise<RegisterResult>>();
  /** New ids whose mirror write is in flight; they count towards the bounds. */
  #pendingNew = 0;
  /** Draining or expired ids coming back whose mirror write is in flight: each will be one more active member. */
  #pendingReturning = 0;

  async register(
    state: CoordinatorState,
    kv: KVNamespace,
    name: string,
    config: ServiceConfig,
    configVersion: number,
    req: RegisterRequest,
  ): Promise<RegisterResult> {
    // Tracked from the call on (an async function runs to its first await before returning its promise).
    const run = this.#register(state, kv, name, config, configVersion, req);
    this.#running.add(run);
    try {
      return await run;
    } finally {
      this.#running.delete(run);
    }
  }

  /**
   * Resolves once every registration under way now has ended, however it ended. A deregistration
   * waits for it, so it takes effect after a registration that reached the coordinator before it:
   * run in between (the registration awaits its id's digest and its mirror write), it marked the
   * member draining and deleted its mirror key, and the registration then made it active again on
   * top, without the key, while the DELETE answered "draining". All of them, not those of its id:
   * a registration still hashing its URL does not know its id yet. Each is one KV write at most.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  async #register(
    state: CoordinatorState,
    kv: KVNamespace,
    name: string,
    config: ServiceConfig,
    configVersion: number,
    req: RegisterRequest,
  ): Promise<RegisterResult> {
    if (!state.applyConfig(name, config, configVersion, Date.now()) || state.config === null) return { ok: false, error: "service_deleted" };
    const id = await instanceIdFor(req.url);
    const before = this.#inFlight.get(id);
    const once = () => this.#registerOnce(state, kv, name, id, req);
    // After the previous one has settled either way: its failure is its caller's, not this one's.
    const run = before === undefined ? once() : before.then(once, once);
    this.#inFlight.set(id, run);
    try {
      return await run;
    } finally {
      if (this.#inFlight.get(id) === run) this.#inFlight.delete(id);
    }
  }

  async #registerOnce(state: CoordinatorState, kv: KVNamespace, name: string, id: string, req: RegisterRequest): Promise<RegisterResult> {
    const config = state.config;
    if (config === null || state.name !== name) return { ok: false, error: "service_deleted" };
    const ttlMs = (req.ttlSeconds ?? config.lease.ttlSeconds) * 1000;
    const existing = state.members.get(id);
    const isNew = existing === undefined;
    const returning = existing !== undefined && existing.membership !== "active";
    // A draining or expired member coming back is one more active member too, and so is every
    // registration (new or returning) still writing its mirror: without counting the returning
    // ones, two of them at 999 active both passed and made 1,001.
    if ((isNew || returning) && state.activeCount() + this.#pendingNew + this.#pendingReturning >= MAX_ACTIVE_INSTANCES) {
      return { ok: false, error: "too_many_instances" };
    }
    if (isNew) {
      const admission = admitNew(state.members.values(), this.#pendingNew, removalRule(config), Date.now());
      if (!admission.ok) return admission;
      if (admission.evict !== null) state.remove(admission.evict);
    }
    const { mirrorChanged } = registerMember(existing, id, req, Date.now(), ttlMs);
    if (mirrorChanged) {
      if (isNew) this.#pendingNew++;
      if (returning) this.#pendingReturning++;
      try {
        // The mirror's content comes from the request alone, so it is right whatever happens to the member meanwhile.
        const mirrored: SnapshotInstance = { id, url: req.url, weight: req.weight, zone: req.zone };
        if (req.priority !== undefined && req.priority !== 0) mirrored.priority = req.priority;
        if (req.location !== undefined && req.location !== null) mirrored.location = req.location;
        await putInstance(kv, name, mirrored);
      } catch (err) {
        console.error(JSON.stringify({ event: "mirror_write_failed", service: name, id, message: String(err) }));
        return { ok: false, error: "mirror_unavailable" };
      } finally {
        if (isNew) this.#pendingNew--;
        if (returning) this.#pendingReturning--;
      }
    }
    // Looked up again after the write: a deregister, a lease expiry or a destroy may have run meanwhile.
    if (state.config === null || state.name !== name) {
      await deleteInstance(kv, name, id).catch(() => undefined);
      return { ok: false, error: "service_deleted" };
    }
    const { member } = registerMember(state.members.get(id), id, req, Date.now(), ttlMs);
    state.put(member);
    return { ok: true, id, leaseExpiresAt: member.leaseExpiresAt, created: isNew };
  }
}

/*
 * Leases and deregistration. Each function makes its state changes
 * synchronously and does its KV I/O afterwards (the input gate opens on
 * outbound I/O, so other RPCs may run in between).
 */

/** Renews a lease. Null when unknown, expired or draining: the origin must register again. */
export function heartbeat(state: CoordinatorState, id: string, now: number): { leaseExpiresAt: number } | null {
  const m = state.members.get(id);
  if (m === undefined || m.membership !== "active" || leaseLapsed(m, now) || state.config === null) return null;
  const lease = now + (m.ttlSeconds ?? state.config.lease.ttlSeconds) * 1000;
  // A renewal that extends the lease cannot change the routable set, so it leaves the snapshot clean:
  // the kept one ends at the old lease end (snapshotValidUntil) and the build then gives the same
  // signature and version. One that shortens it (the service's lease TTL was lowered since) can end
  // the lease before the kept snapshot ends: without a rebuild, the member stayed routable after it
  // lapsed, until the old lease end.
  if (lease < m.leaseExpiresAt) state.snapshots.markDirty();
  m.leaseExpiresAt = lease;
  state.table.saveLease(id, m.leaseExpiresAt);
  return { leaseExpiresAt: m.leaseExpiresAt };
}

/** Starts draining: no new requests; the record is removed once nothing can be in flight to it (core/lease drainMs). */
export async function deregister(state: CoordinatorState, kv: KVNamespace, id: string): Promise<boolean> {
  const m = state.members.get(id);
  if (m === undefined || state.name === null) return false;
  const name = state.name;
  if (m.membership !== "draining") {
    state.put({ ...m, membership: "draining", membershipSince: Date.now() });
  }
  // Deleted even when already draining, so a retried DELETE repairs a failed KV write.
  await deleteInstance(kv, name, id);
  return true;
}

/** State changes first, all synchronous; the KV deletes they imply run afterwards. */
export async function applyLeases(
  state: CoordinatorState,
  kv: KVNamespace,
  now: number,
  forget: (id: string) => void,
): Promise<{ expired: number; removed: number }> {
  if (state.config === null || state.name === null) return { expired: 0, removed: 0 };
  const name = state.name;
  const rule = removalRule(state.config);
  const unmirrorIds: string[] = [];
  let expired = 0;
  let removed = 0;
  for (const m of [...state.members.values()]) {
    const action = leaseAction(m, now, rule);
    if (action === "expire") {
      state.put({ ...m, membership: "expired", membershipSince: now });
      logLeaseExpired(name, m.id, m.leaseExpiresAt, now);
      unmirrorIds.push(m.id);
      expired++;
    } else if (action === "remove") {
      state.remove(m.id);
      forget(m.id);
      unmirrorIds.push(m.id);
      removed++;
    }
  }
  await unmirror(kv, name, unmirrorIds);
  return { expired, removed };
}
