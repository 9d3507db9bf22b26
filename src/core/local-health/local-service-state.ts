import { BALANCERS, balancerKey, balancerKind, createBalancer, type Balancer, type BalancerConfig, type HostLoad } from "../balance/index.js";
import type { TrafficView } from "../policy/traffic-view.js";
import { hasPriorityLevels, type PolicyIndex } from "../policy/priority-pools.js";
import type { Snapshot, SnapshotInstance } from "../snapshot.js";

/**
 * One isolate's routing state for one service (snapshot mode): the snapshot it
 * routes from, its own balancer, and what this isolate has seen on its own that
 * the coordinator may not know yet (local marks, tries still waiting). Pure
 * data plus pure rules; the edge's snapshot cache owns the I/O around it.
 */
export interface LocalMark {
  /** The instance is avoided until this time. */
  until: number;
  /** Marks in a row, kept after `until` passes so a repeat offender is avoided longer. */
  strikes: number;
}

export interface LocalServiceState {
  snapshot: Snapshot;
  fetchedAt: number;
  /**
   * Set by a local mark: refresh on the next request instead of waiting out the
   * TTL. A flag rather than a zeroed fetchedAt, so a busy isolate that just
   * marked an instance down is not mistaken for an idle one (whose first
   * request waits for the refresh, cache/snapshot-cache.ts).
   */
  refreshDue: boolean;
  /** When the coordinator last answered; drives the edge's keep-stale window. */
  confirmedAt: number;
  source: "coordinator" | "kv";
  balancer: Balancer;
  /** The config the balancer was built from, and its key: a reloaded route table with an equal config keeps the balancer. */
  balancerConfig: BalancerConfig;
  balancerKey: string;
  /** True for hash kinds: they are handed the snapshot's own list (their table is cached per list) and avoid by exclusion. */
  hashed: boolean;
  marks: Map<string, LocalMark>;
  /** Start times of tries still waiting for headers, per instance, oldest first. */
  pending: Map<string, number[]>;
  /**
   * Answers whose body is still being relayed, per instance: services with
   * maxConcurrentRequestsPerInstance only, for the cap alone
   * (core/flow/concurrency.ts). Stall avoidance and the balancers read `pending`.
   */
  relaying: Map<string, number>;
  /** The latest header latency seen per instance, ms. */
  latency: Map<string, number>;
  /** Instances held back until a time by their own 503 Retry-After (core/flow/concurrency.ts); survives new snapshots. */
  held: Map<string, number>;
  /** Requests waiting for a slot under maxConcurrentRequestsPerInstance (edge/proxy/flow-control.ts); at most maxPendingRequests. */
  slotWaiters: number;
  /** Answers the balancer's load questions from `pending` and `latency`; built once per service, not per pick. */
  load: HostLoad;
  refreshStartedAt: number | null;
  /** Services with traffic policies only: their view of the snapshot (core/policy/traffic-view.ts), rebuilt when it changes. */
  traffic: TrafficView | null;
  /** True when the snapshot's members span more than one priority level: the one check a pick makes for priorities. */
  levels: boolean;
  /** The snapshot grouped by level, zone and location (core/policy/priority-pools.ts); built on first use per snapshot version. */
  policy: PolicyIndex | null;
}

/** Offsets a new balancer's rotation within this range, so cold isolates do not all start at host 0. */
const START_SPREAD = 1024;

function newBalancer(config: BalancerConfig, random: () => number, now: () => number): Balancer {
  return createBalancer(config, { random, start: Math.floor(random() * START_SPREAD), now });
}

export function newLocalServiceState(
  snapshot: Snapshot,
  source: LocalServiceState["source"],
  config: BalancerConfig,
  now: number,
  random: () => number,
  clock: () => number = Date.now,
): LocalServiceState {
  const pending = new Map<string, number[]>();
  const latency = new Map<string, number>();
  return {
    snapshot,
    fetchedAt: now,
    refreshDue: false,
    confirmedAt: source === "coordinator" ? now : 0,
    source,
    balancer: newBalancer(config, random, clock),
    balancerConfig: config,
    balancerKey: balancerKey(config),
    hashed: BALANCERS[balancerKind(config)].hashed,
    marks: new Map(),
    pending,
    relaying: new Map(),
    latency,
    held: new Map(),
    slotWaiters: 0,
    load: {
      activeTries: (id) => pending.get(id)?.length ?? 0,
      latencyMs: (id) => latency.get(id),
    },
    refreshStartedAt: null,
    traffic: null,
    levels: hasPriorityLevels(snapshot),
    policy: null,
  };
}

/**
 * A balancer change needs a new balancer, not a new snapshot: marks and stall
 * tracking stay. The same config object (the warm path) costs one comparison;
 * an equal one from a reloaded route table keeps the balancer and its state
 * (rotation, latency estimates).
 */
export function useBalancerKind(state: LocalServiceState, config: BalancerConfig, random: () => number, clock: () => number = Date.now): void {
  if (state.balancerConfig === config) return;
  const key = balancerKey(config);
  state.balancerConfig = config;
  if (state.balancerKey === key) return;
  state.balancer = newBalancer(config, random, clock);
  state.balancerKey = key;
  state.hashed = BALANCERS[balancerKind(config)].hashed;
}

/**
 * Takes in a refresh's answer. `snapshot` null means "unchanged since the
 * version you sent". KV snapshots carry no version, so one from KV always
 * replaces what is held. A new snapshot keeps the local marks of instances
 * routable in both (keepStayersMarks).
 */
export function adoptSnapshot(state: LocalServiceState, snapshot: Snapshot | null, source: LocalServiceState["source"], now: number): void {
  state.fetchedAt = now;
  if (source === "coordinator") state.confirmedAt = now;
  const switched = state.source !== source;
  state.source = source;
  if (snapshot === null || (!switched && source === "coordinator" && snapshot.version === state.snapshot.version)) return;
  if (state.marks.size > 0) keepStayersMarks(state.marks, state.snapshot.instances, snapshot.instances);
  state.snapshot = snapshot;
  state.levels = hasPriorityLevels(snapshot);
  state.policy = null;
  // A hash kind's table for the new version is built here, in the refresh, not by the next request's pick.
  state.balancer.prepare?.(snapshot.instances);
  // Latency of instances that left is no use; the map stays as small as the service.
  if (state.latency.size > snapshot.instances.length) {
    const live = new Set(snapshot.instances.map((i) => i.id));
    for (const id of state.latency.keys()) if (!live.has(id)) state.latency.delete(id);
  }
}

/**
 * A new version says the routable set changed, not that the coordinator has
 * judged this isolate's marks: its probes may not have run since, and the
 * failure behind a mark reaches it only with the next outcome report. So a
 * version bump for another instance, or a KV snapshot (which knows no health
 * at all), does not bring a marked instance back early; the mark runs out on
 * its own (2 s, doubling per repeat), as Envoy's outlier ejection outlives
 * endpoint updates for hosts that stay. An instance that left the routable
 * set, or came back into it, has been judged: its mark goes.
 */
function keepStayersMarks(marks: LocalServiceState["marks"], before: readonly SnapshotInstance[], after: readonly SnapshotInstance[]): void {
  const was = new Set(before.map((i) => i.id));
  const is = new Set(after.map((i) => i.id));
  for (const id of marks.keys()) if (!was.has(id) || !is.has(id)) marks.delete(id);
}
