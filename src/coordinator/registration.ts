import { removalRule } from "../core/lease/lease.js";
import { admitNew } from "../core/membership/admission.js";
import { registerMember, type RegisterRequest } from "../core/membership/member.js";
import { instanceIdFor } from "../core/snapshot.js";
import { deleteInstance, putInstance } from "../registry/kv-registry.js";
import type { ServiceConfig } from "../core/schema/service.js";
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
 * registration that changes none of url, weight and zone writes no KV at all
 * (KV takes one write per second per key).
 */
export class Registrations {
  /** Per id, the registration in progress: two registers of one URL run one after the other. */
  readonly #inFlight = new Map<string, Promise<RegisterResult>>();
  /** New ids whose mirror write is in flight; they count towards the bounds. */
  #pendingNew = 0;

  async register(
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
    const run = (before ?? Promise.resolve()).then(() => this.#registerOnce(state, kv, name, id, req));
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
    if (isNew) {
      const admission = admitNew(state.members.values(), this.#pendingNew, removalRule(config), Date.now());
      if (!admission.ok) return admission;
      if (admission.evict !== null) state.remove(admission.evict);
    }
    const { mirrorChanged } = registerMember(existing, id, req, Date.now(), ttlMs);
    if (mirrorChanged) {
      if (isNew) this.#pendingNew++;
      try {
        // The mirror's content comes from the request alone, so it is right whatever happens to the member meanwhile.
        await putInstance(kv, name, { id, url: req.url, weight: req.weight, zone: req.zone });
      } catch (err) {
        console.error(JSON.stringify({ event: "mirror_write_failed", service: name, id, message: String(err) }));
        return { ok: false, error: "mirror_unavailable" };
      } finally {
        if (isNew) this.#pendingNew--;
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
