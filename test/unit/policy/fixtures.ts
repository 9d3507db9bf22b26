import type { PolicyRequest, TrafficPolicy } from "../../../src/core/policy/traffic-view.js";
import { UNDECIDED } from "../../../src/core/policy/traffic-view.js";
import type { Snapshot, SnapshotInstance } from "../../../src/core/snapshot.js";

export const T0 = 1_000_000;

/** An instance with labels, as a snapshot of a service with a split carries it. */
export function inst(id: string, labels: Record<string, string> = {}, extra: Partial<SnapshotInstance> = {}): SnapshotInstance {
  return { id, url: `http://${id}.test`, weight: 1, zone: null, labels, ...extra };
}

export function snap(instances: SnapshotInstance[], draining?: Snapshot["draining"]): Snapshot {
  const s: Snapshot = { service: "svc", version: 1, instances, allUnhealthy: false, panic: false, generatedAt: T0 };
  if (draining !== undefined) s.draining = draining;
  return s;
}

/** A request as the pick stage sees it: headers (lowercase names), a verified pin, no split decision yet. */
export function request(traffic: TrafficPolicy, headers: Record<string, string> = {}, pinned: string | null = null): PolicyRequest {
  return { traffic, headers: { get: (name) => headers[name] ?? null }, pinned, splitGroup: UNDECIDED };
}
