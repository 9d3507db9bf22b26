import type { FailureKind } from "./retry/retry-policy.js";
import type { PassiveOutcome } from "./health/health-machine.js";
import { sha256Hex } from "./sha256.js";
import type { GeoPoint } from "./policy/geo.js";

/** One routable instance, as a router sees it. */
export interface SnapshotInstance {
  id: string;
  url: string;
  weight: number;
  zone: string | null;
  /**
   * The instance's `metadata` labels that the service's `split` rules name,
   * and only those (so the snapshot grows by at most the rules' keys per
   * instance, each value ≤ 256 chars). Absent when the service has no split.
   */
  labels?: Record<string, string>;
  /** When the instance last became healthy (registration, or a recovery); present only for services with slowStartSeconds. */
  healthySince?: number;
  /** Priority level (docs/api.md, "Priority pools and fallback"); absent means 0, the primary level. */
  priority?: number;
  /** Where the instance runs, for proximity steering; absent when it did not register one. */
  location?: GeoPoint;
}

/** A deregistered (draining) instance that pinned sessions may still use until `pinUntil` (DO clock, ms). */
export interface DrainingInstance extends SnapshotInstance {
  pinUntil: number;
}

/**
 * Active members (routable or not) per distinct (priority, zone, location):
 * what a router needs, beside the routable instances, to know each level's
 * and each locality group's healthy share. Present only when some active
 * member has a priority, zone or location; absent, every group's total is
 * its routable count (the KV fallback treats every member as healthy anyway).
 */
export interface SnapshotGroup {
  priority: number;
  zone: string | null;
  location: GeoPoint | null;
  total: number;
}

/**
 * What the service's Durable Object hands to routers. `version` increases every
 * time the routable set, a weight or the config changes, so a router that
 * already holds a version can skip the copy. `allUnhealthy` is true when the
 * service has members but none is routable; then `instances` holds every
 * active member if the service enables panic routing, and is empty otherwise.
 */
export interface Snapshot {
  service: string;
  version: number;
  instances: SnapshotInstance[];
  allUnhealthy: boolean;
  panic: boolean;
  /**
   * Services with `affinity` only: healthy draining instances, which take no
   * new sessions but keep their pinned ones until `pinUntil`. Kept apart from
   * `instances` so that every other reader of the routable set is unchanged.
   */
  draining?: DrainingInstance[];
  /** Active members per priority level and locality group (SnapshotGroup). */
  groups?: SnapshotGroup[];
  /** DO clock when the snapshot was taken. */
  generatedAt: number;
}

/** Most strict-mode picks one coordinator RPC carries (pickBatch). */
export const MAX_PICKS_PER_BATCH = 64;

/** One try's outcome as the router saw it. */
export interface TryOutcome {
  instanceId: string;
  ok: boolean;
  failure?: FailureKind;
  status?: number;
  latencyMs: number;
  /**
   * A failure of a try already reported as a success: its answer's body broke
   * after the headers (edge/proxy/relayed-body.ts). It turns that success into
   * a failure instead of counting a second try.
   */
  afterAnswer?: true;
}

/** Per-instance aggregate of many tries, what `report()` carries over RPC. */
export interface InstanceReport extends PassiveOutcome {
  instanceId: string;
  latencyMsTotal: number;
  lastFailure: FailureKind | null;
}

/**
 * Folds one outcome into the running report of its instance (one report per
 * instance, in first-seen order), so a router keeps a report per instance
 * instead of a list of outcomes (edge/report/outcome-reporter.ts).
 */
export function foldOutcome(byId: Map<string, InstanceReport>, o: TryOutcome): void {
  let r = byId.get(o.instanceId);
  if (r === undefined) {
    r = { instanceId: o.instanceId, requests: 0, failures: 0, trailingFailures: 0, latencyMsTotal: 0, lastFailure: null };
    byId.set(o.instanceId, r);
  }
  if (o.afterAnswer === true) {
    // The try and its latency were counted with its success; only the failure is new.
    r.failures++;
    r.trailingFailures++;
    r.lastFailure = o.failure ?? "status";
    return;
  }
  r.requests++;
  r.latencyMsTotal += o.latencyMs;
  if (o.ok) {
    r.trailingFailures = 0;
  } else {
    r.failures++;
    r.trailingFailures++;
    r.lastFailure = o.failure ?? "status";
  }
}

/** Instance ids are derived from the canonical URL, so re-registering the same URL yields the same id. */
export async function instanceIdFor(canonicalUrl: string): Promise<string> {
  return (await sha256Hex(canonicalUrl)).slice(0, 16);
}
