import { initialHealth, type HealthState } from "../health/health-machine.js";
import type { Membership } from "../schema/instance.js";
import type { GeoPoint } from "../policy/geo.js";
import type { SnapshotInstance } from "../snapshot.js";

/**
 * One member of a service, as the coordinator holds it in memory. Every change
 * is written through to the Durable Object's SQLite (docs/storage.md), so an
 * evicted object reloads what it had, except the passive counters (requests,
 * failures, latency), written behind by up to a second (*Writes that wait*).
 */
export interface Member {
  id: string;
  url: string;
  weight: number;
  zone: string | null;
  /** Priority level: 0 is the primary, 1, 2 … standby (docs/api.md, "Priority pools and fallback"). */
  priority: number;
  location: GeoPoint | null;
  metadata: Record<string, string> | null;
  /** Per-instance lease length; null means the service default. */
  ttlSeconds: number | null;
  registeredAt: number;
  leaseExpiresAt: number;
  membership: Membership;
  membershipSince: number;
  health: HealthState;
  requests: number;
  failures: number;
  latencyMsTotal: number;
}

/** What the API hands the coordinator for one registration (URL already canonical). */
export interface RegisterRequest {
  url: string;
  weight: number;
  zone: string | null;
  /** Absent: 0, the primary level. */
  priority?: number;
  /** Absent: none. */
  location?: GeoPoint | null;
  metadata: Record<string, string> | null;
  ttlSeconds: number | null;
}

/**
 * The member after a (re-)registration, and whether the KV mirror must be
 * rewritten: only when membership, weight, zone, priority or location changed (the
 * mirror's value carries the location, docs/storage.md), never for a repeat
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
        priority: req.priority ?? 0,
        location: req.location ?? null,
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
    priority: req.priority ?? 0,
    location: req.location ?? null,
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
  const mirrorChanged =
    returning ||
    existing.weight !== req.weight ||
    existing.zone !== req.zone ||
    existing.priority !== (req.priority ?? 0) ||
    !sameLocation(existing.location, req.location ?? null);
  return { member, mirrorChanged };
}

function sameLocation(a: GeoPoint | null, b: GeoPoint | null): boolean {
  return a === null || b === null ? a === b : a.latitude === b.latitude && a.longitude === b.longitude;
}

/** The optional SnapshotInstance fields a service's traffic policies ask for (membership/snapshot-rules.ts). */
export interface SnapshotExtras {
  /** The metadata keys to copy as `labels`; null: none. */
  labelKeys: readonly string[] | null;
  healthySince: boolean;
}

export function toSnapshotInstance(m: Member, extras?: SnapshotExtras): SnapshotInstance {
  const out: SnapshotInstance = { id: m.id, url: m.url, weight: m.weight, zone: m.zone };
  // Only when set, so a service without priorities or locations sends routers what it always did.
  if (m.priority !== 0) out.priority = m.priority;
  if (m.location !== null) out.location = m.location;
  if (extras === undefined) return out;
  if (extras.labelKeys !== null) {
    const labels: Record<string, string> = {};
    for (const k of extras.labelKeys) {
      // Own keys only: metadata is a parsed JSON object, and a selector key may name an Object slot.
      const v = m.metadata !== null && Object.hasOwn(m.metadata, k) ? m.metadata[k] : undefined;
      if (v !== undefined) labels[k] = v;
    }
    out.labels = labels;
  }
  // A registration (or a return from a drain) counts as becoming healthy; a recovery sets its own time.
  if (extras.healthySince) out.healthySince = m.health.healthySince ?? m.membershipSince;
  return out;
}

/** Field by field, so a report that left health as it was costs no write. */
export function sameHealth(a: HealthState, b: HealthState): boolean {
  for (const key of Object.keys(a) as (keyof HealthState)[]) if (a[key] !== b[key]) return false;
  return Object.keys(a).length === Object.keys(b).length;
}
