import type { Balancer, BalancerOptions } from "./balancer.js";
import { RoundRobinBalancer } from "./round-robin.js";
import { WeightedRoundRobinBalancer } from "./weighted-round-robin.js";

/** One balancer kind: how to build it and what to tell users about it. */
export interface BalancerEntry {
  create(options: BalancerOptions): Balancer;
  /** One line for the docs table (docs/api.md); a unit test keeps the two equal. */
  description: string;
  /** True when the kind honours `weight`; the shared case suite checks shares accordingly. */
  weighted: boolean;
}

/**
 * The one list of balancer kinds (STYLE.md habit 14). The schema enum, the
 * factory, the docs table and the shared case suite all read it, so a new kind
 * is a new file in this folder plus one entry here.
 */
export const BALANCERS = {
  round_robin: {
    create: ({ start }) => new RoundRobinBalancer(start),
    description: "plain rotation in list order; a retry goes to the next host",
    weighted: false,
  },
  weighted_round_robin: {
    create: () => new WeightedRoundRobinBalancer(),
    description: "smooth weighted round-robin (nginx's algorithm): `weight` shares, interleaved",
    weighted: true,
  },
} as const satisfies Record<string, BalancerEntry>;

export type BalancerKind = keyof typeof BALANCERS;

/** The kinds in registry order, as a non-empty tuple (what z.enum needs). */
export const BALANCER_KINDS = Object.keys(BALANCERS) as [BalancerKind, ...BalancerKind[]];
