import type { Balancer, BalancerOptions } from "./balancer.js";
import { BALANCERS, type BalancerKind } from "./registry.js";

export type { Balancer, BalancerOptions, Candidate, HostLoad } from "./balancer.js";
export { BALANCERS, BALANCER_KINDS, type BalancerEntry, type BalancerKind } from "./registry.js";

/**
 * Builds a balancer of `kind`. The coordinator calls it with the kind alone:
 * rotation from offset 0, and Math.random for any kind that draws.
 */
export function createBalancer(kind: BalancerKind, options: Partial<BalancerOptions> = {}): Balancer {
  return BALANCERS[kind].create({ random: options.random ?? Math.random, start: options.start ?? 0 });
}
