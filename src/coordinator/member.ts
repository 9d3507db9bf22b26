import { initialHealth, isRoutable } from "../core/health/health-machine.js";
import type { Snapshot, SnapshotInstance } from "../core/snapshot.js";
import type { Member } from "./instance-table.js";

/** What the API hands the coordinator for one registration (URL already canonical). */
export interface RegisterRequest {
  url: string;
  weight: number;
  zone: string | null;
  metadata: Record<string, string> | null;
  ttlSeconds: number | null;
}

/**
 * The member after a (re-)registration, and whether the KV mirror must be
 * rewritten: only when membership, weight or zone changed, never for a repeat
 * registration (KV allows one write per second per key).
 */
export function registerMember(
  existing: Member | undefined,
  id: string,
  req: RegisterRequest,
  now: number,
  ttlMs: number,
): { member: Member; mirrorChanged: boolean } {
  if (existing === undefined) {
    return {
      member: {
        id,
        url: req.url,
        weight: req.weight,
        zone: req.zone,
        metadata: req.metadata,
        ttlSeconds: req.ttlSeconds,
        registeredAt: now,
        leaseExpiresAt: now + ttlMs,
        membership: "active",
        membershipSince: now,
        health: initialHealth(),
        requests: 0,
        failures: 0,
        latencyMsTotal: 0,
      },
      mirrorChanged: true,
    };
  }
  const member: Member = {
    ...existing,
    weight: req.weight,
    zone: req.zone,
    metadata: req.metadata,
    ttlSeconds: req.ttlSeconds,
    leaseExpiresAt: now + ttlMs,
  };
  const returning = existing.membership !== "active";
  if (returning) {
    // Back from expiry or a drain: start over, as a new registration would.
    member.membership = "active";
    member.membershipSince = now;
    member.health = initialHealth();
  }
  return { member, mirrorChanged: returning || existing.weight !== req.weight || existing.zone !== req.zone };
}

export function toSnapshotInstance(m: Member): SnapshotInstance {
  return { id: m.id, url: m.url, weight: m.weight, zone: m.zone };
}

/**
 * The routable set. When members exist but none is routable, `panic` decides
 * between routing to every active member and routing to none (router: 503).
 */
export function buildSnapshot(
  members: Iterable<Member>,
  service: string,
  version: number,
  panicEnabled: boolean,
  now: number,
): Snapshot {
  const active: Member[] = [];
  const routable: Member[] = [];
  for (const m of members) {
    if (m.membership !== "active") continue;
    active.push(m);
    if (isRoutable(m.health, now)) routable.push(m);
  }
  const allUnhealthy = active.length > 0 && routable.length === 0;
  const panic = allUnhealthy && panicEnabled;
  return {
    service,
    version,
    instances: (panic ? active : routable).map(toSnapshotInstance),
    allUnhealthy,
    panic,
    generatedAt: now,
  };
}

/** Changes exactly when what a router would route to changes. */
export function snapshotSignature(s: Snapshot): string {
  return `${s.allUnhealthy ? "!" : ""}${s.panic ? "P" : ""}${s.instances.map((i) => `${i.id}:${i.weight}`).join(",")}`;
}
