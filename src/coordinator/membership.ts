import { leaseAction, removalRule } from "../core/lease/lease.js";
import { deleteInstance } from "../registry/kv-registry.js";
import { unmirror } from "./outbound/mirror.js";
import type { CoordinatorState } from "./state.js";

/*
 * Leases and deregistration (registration is in registration.ts). Each
 * function makes its state changes synchronously and does its KV I/O
 * afterwards (the input gate opens on outbound I/O, so other RPCs may run in
 * between).
 */

/** Renews a lease. Null when unknown, expired or draining: the origin must register again. */
export function heartbeat(state: CoordinatorState, id: string, now: number): { leaseExpiresAt: number } | null {
  const m = state.members.get(id);
  if (m === undefined || m.membership !== "active" || m.leaseExpiresAt <= now || state.config === null) return null;
  // A renewal cannot change the routable set, so it leaves the snapshot clean.
  m.leaseExpiresAt = now + (m.ttlSeconds ?? state.config.lease.ttlSeconds) * 1000;
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
