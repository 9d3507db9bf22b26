/**
 * A host a balancer may choose. `id` is stable for the life of a registration;
 * `weight` is only read by weighted balancers.
 */
export interface Candidate {
  readonly id: string;
  readonly weight: number;
}

/**
 * What the caller knows about each host's current load. Load-aware kinds
 * (least-request, peak-EWMA) read it; rotation kinds ignore it. It is a
 * long-lived object the caller keeps per service and answers from state it
 * already holds, so passing it costs no allocation per pick.
 */
export interface HostLoad {
  /** Tries to this host that are still waiting for response headers. */
  activeTries(id: string): number;
  /** Recent latency to this host in ms, or undefined when the caller does not track it. */
  latencyMs(id: string): number | undefined;
}

/**
 * Every balancer keeps its own counters and passes the shared case suite in
 * test/unit/balance/balancer.case.ts. `pick` must never return a candidate
 * whose id is in `exclude`, and returns undefined when nothing is eligible.
 * Candidates passed in are already filtered for health; the list may change
 * between calls (members come and go) and balancers must cope.
 */
export interface Balancer {
  /**
   * `key` is the request's hash key (hash kinds only; see hash-key.ts). Hash
   * kinds build their table from `candidates` and keep it while the same
   * array comes back, so callers pass the snapshot's own list (one array per
   * snapshot version) and say what to avoid through `exclude`.
   */
  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>, load?: HostLoad, key?: string): C | undefined;
  /**
   * Called with the service's whole list when a snapshot arrives. Builds now
   * what the kind caches per candidate list (the hash kinds' ring or table),
   * so the caller can pay for it then rather than on the next request's pick,
   * and lets a kind forget what it holds for hosts that left (peak-EWMA's
   * estimates), which a pick cannot judge: its list may be one zone, split
   * group or priority level.
   */
  prepare?(candidates: readonly Candidate[]): void;
  /** A try to `id` got response headers after `latencyMs`, at `now`; only latency-aware kinds implement it. */
  observe?(id: string, latencyMs: number, now: number): void;
}

/**
 * What a factory may use. `random` is the only source of randomness and `now`
 * the only clock a balancer may touch (seeded and fake in tests, Math.random
 * and Date.now at the edge); `start` is a rotation offset, so cold isolates do
 * not all begin at host 0.
 */
export interface BalancerOptions {
  random: () => number;
  start: number;
  now: () => number;
}
