/**
 * A host a balancer may choose. `id` is stable for the life of a registration;
 * `weight` is only read by weighted balancers.
 */
export interface Candidate {
  readonly id: string;
  readonly weight: number;
}

/**
 * Every balancer keeps its own counters and passes the shared case suite in
 * test/unit/balance/balancer.case.ts. `pick` must never return a candidate
 * whose id is in `exclude`, and returns undefined when nothing is eligible.
 * Candidates passed in are already filtered for health; the list may change
 * between calls (members come and go) and balancers must cope.
 */
export interface Balancer {
  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>): C | undefined;
}

export type BalancerKind = "round_robin" | "weighted_round_robin";
