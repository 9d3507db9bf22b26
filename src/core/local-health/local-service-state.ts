import { createBalancer, type Balancer, type BalancerKind, type HostLoad } from "../balance/index.js";
import type { Snapshot } from "../snapshot.js";

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
  /** When the coordinator last answered; drives the edge's keep-stale window. */
  confirmedAt: number;
  source: "coordinator" | "kv";
  balancer: Balancer;
  balancerKind: BalancerKind;
  marks: Map<string, LocalMark>;
  /** Start times of tries still waiting for headers, per instance, oldest first. */
  pending: Map<string, number[]>;
  /** Answers the balancer's load questions from `pending`; built once per service, not per pick. */
  load: HostLoad;
  refreshStartedAt: number | null;
}

/** Offsets a new balancer's rotation within this range, so cold isolates do not all start at host 0. */
const START_SPREAD = 1024;

function newBalancer(kind: BalancerKind, random: () => number): Balancer {
  return createBalancer(kind, { random, start: Math.floor(random() * START_SPREAD) });
}

export function newLocalServiceState(
  snapshot: Snapshot,
  source: LocalServiceState["source"],
  kind: BalancerKind,
  now: number,
  random: () => number,
): LocalServiceState {
  const pending = new Map<string, number[]>();
  return {
    snapshot,
    fetchedAt: now,
    confirmedAt: source === "coordinator" ? now : 0,
    source,
    balancer: newBalancer(kind, random),
    balancerKind: kind,
    marks: new Map(),
    pending,
    load: {
      activeTries: (id) => pending.get(id)?.length ?? 0,
      // The edge does not time tries per instance yet; a latency-aware kind gets "unknown".
      latencyMs: () => undefined,
    },
    refreshStartedAt: null,
  };
}

/** A balancer change needs a new rotation, not a new snapshot: marks and stall tracking stay. */
export function useBalancerKind(state: LocalServiceState, kind: BalancerKind, random: () => number): void {
  if (state.balancerKind === kind) return;
  state.balancer = newBalancer(kind, random);
  state.balancerKind = kind;
}

/**
 * Takes in a refresh's answer. `snapshot` null means "unchanged since the
 * version you sent". A new snapshot version clears the local marks: by then
 * the coordinator has confirmed or refuted them with its own probes. KV
 * snapshots carry no version, so one from KV always replaces what is held.
 */
export function adoptSnapshot(state: LocalServiceState, snapshot: Snapshot | null, source: LocalServiceState["source"], now: number): void {
  state.fetchedAt = now;
  if (source === "coordinator") state.confirmedAt = now;
  const switched = state.source !== source;
  state.source = source;
  if (snapshot === null || (!switched && source === "coordinator" && snapshot.version === state.snapshot.version)) return;
  state.snapshot = snapshot;
  state.marks.clear();
}
