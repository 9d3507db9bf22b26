import type { Balancer, Candidate } from "./balancer.js";
import { weightedEligible } from "./draw.js";

/**
 * Weighted random: each pick draws a host with probability weight ÷ total
 * weight of the eligible hosts. No state at all, so isolates need no
 * coordination and a retry simply draws again without the hosts it tried.
 */
export class RandomBalancer implements Balancer {
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>): C | undefined {
    return weightedEligible(candidates, exclude, this.#random);
  }
}
