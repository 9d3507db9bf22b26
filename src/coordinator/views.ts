import { isEjected, isRoutable } from "../core/health/health-machine.js";
import { leaseLapsed } from "../core/lease/lease.js";
import type { PublicState } from "../core/schema/instance.js";
import type { Member } from "../core/membership/member.js";
import type { GeoPoint } from "../core/policy/geo.js";

/** What describe() answers: the service as `GET /_mesh/v1/services/{name}` shows it. */
export interface ServiceDescription {
  service: string | null;
  snapshotVersion: number;
  instances: InstanceView[];
  /** Strict-mode load since this object last started (in memory only): RPCs (leases and pickBatch calls), batch picks answered, leases granted and the slots they carried. */
  strictPicks: { rpcs: number; picks: number; leases: number; slots: number };
  /** Router calls since this object last started (in memory only): snapshot refreshes (and how many found nothing new), outcome reports. */
  routerRpcs: { snapshots: number; unchanged: number; reports: number };
}

/** An instance as `GET /_mesh/v1/services/{name}` shows it. */
export interface InstanceView {
  id: string;
  url: string;
  weight: number;
  zone: string | null;
  priority: number;
  location: GeoPoint | null;
  metadata: Record<string, string> | null;
  state: PublicState;
  registeredAt: string;
  leaseExpiresAt: string;
  lastCheckAt: string | null;
  lastCheckResult: string | null;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  ejectedUntil: string | null;
  requests: number;
  failures: number;
  meanLatencyMs: number | null;
}

function publicState(m: Member, now: number): PublicState {
  if (m.membership !== "active") return m.membership;
  // Not routed any more (snapshot-rules), though the alarm has not marked it yet.
  if (leaseLapsed(m, now)) return "expired";
  return isRoutable(m.health, now) ? "healthy" : "unhealthy";
}

const iso = (t: number) => new Date(t).toISOString();

export function instanceView(m: Member, now: number): InstanceView {
  return {
    id: m.id,
    url: m.url,
    weight: m.weight,
    zone: m.zone,
    priority: m.priority,
    location: m.location,
    metadata: m.metadata,
    state: publicState(m, now),
    registeredAt: iso(m.registeredAt),
    leaseExpiresAt: iso(m.leaseExpiresAt),
    lastCheckAt: m.health.lastCheckAt === null ? null : iso(m.health.lastCheckAt),
    lastCheckResult: m.health.lastCheckResult,
    consecutiveFailures: m.health.consecutiveFailures,
    consecutiveSuccesses: m.health.consecutiveSuccesses,
    ejectedUntil: isEjected(m.health, now) && m.health.ejectedUntil !== null ? iso(m.health.ejectedUntil) : null,
    requests: m.requests,
    failures: m.failures,
    meanLatencyMs: m.requests > 0 ? Math.round((m.latencyMsTotal / m.requests) * 100) / 100 : null,
  };
}
