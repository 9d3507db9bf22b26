import { leaseAction } from "../core/lease/lease.js";
import { registerMember, toSnapshotInstance, type RegisterRequest } from "../core/membership/member.js";
import type { ServiceConfig } from "../core/schema/service.js";
import { instanceIdFor } from "../core/snapshot.js";
import { deleteInstance, putInstance } from "../registry/kv-registry.js";
import { unmirror } from "./outbound/mirror.js";
import type { CoordinatorState } from "./state.js";

/**
 * Active members per service. A health round probes PROBE_CONCURRENCY (6) at a
 * time, so it lasts about ceil(N / 6) x probe latency: 650–850 ms measured for 1,000 healthy
 * loopback origins, but minutes if hundreds of them time out. The next round
 * starts only when the previous one ends.
 */
export const MAX_INSTANCES = 1000;

export type RegisterResult =
  | { ok: true; id: string; leaseExpiresAt: number; created: boolean }
  | { ok: false; error: "too_many_instances" | "service_deleted" };

/*
 * Membership and leases. Each function makes its state changes synchronously
 * and does its KV I/O afterwards (the input gate opens on outbound I/O, so
 * other RPCs may run in between).
 */

export async function register(
  state: CoordinatorState,
  kv: KVNamespace,
  name: string,
  config: ServiceConfig,
  configVersion: number,
  req: RegisterRequest,
): Promise<RegisterResult> {
  if (!state.applyConfig(name, config, configVersion, Date.now()) || state.config === null) return { ok: false, error: "service_deleted" };
  const current = state.config;
  const now = Date.now();
  const id = await instanceIdFor(req.url);
  // Looked up after the await: another register may have run meanwhile.
  const existing = state.members.get(id);
  if (existing === undefined && state.activeCount() >= MAX_INSTANCES) return { ok: false, error: "too_many_instances" };
  const ttlMs = (req.ttlSeconds ?? current.lease.ttlSeconds) * 1000;
  const { member, mirrorChanged } = registerMember(existing, id, req, now, ttlMs);
  state.put(member);
  if (mirrorChanged) await putInstance(kv, name, toSnapshotInstance(member));
  return { ok: true, id, leaseExpiresAt: member.leaseExpiresAt, created: existing === undefined };
}

/** Renews a lease. Null when unknown, expired or draining: the origin must register again. */
export function heartbeat(state: CoordinatorState, id: string, now: number): { leaseExpiresAt: number } | null {
  const m = state.members.get(id);
  if (m === undefined || m.membership !== "active" || m.leaseExpiresAt <= now || state.config === null) return null;
  // A renewal cannot change the routable set, so it leaves the snapshot clean.
  m.leaseExpiresAt = now + (m.ttlSeconds ?? state.config.lease.ttlSeconds) * 1000;
  state.table.saveLease(id, m.leaseExpiresAt);
  return { leaseExpiresAt: m.leaseExpiresAt };
}

/** Starts draining: no new requests; the record is removed after deregisterAfterSeconds. */
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
  const after = state.config.lease.deregisterAfterSeconds;
  const unmirrorIds: string[] = [];
  let expired = 0;
  let removed = 0;
  for (const m of [...state.members.values()]) {
    const action = leaseAction(m, now, after);
    if (action === "expire") {
      state.put({ ...m, membership: "expired", membershipSince: now });
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
