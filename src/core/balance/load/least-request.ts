import type { Balancer, Candidate, HostLoad } from "../balancer.js";
import { eligibleCount, equalWeights, uniformEligible, weightedEligible, weightOf } from "../draw.js";

/**
 * Least request, as Envoy defines it. Equal weights: draw `choiceCount` hosts
 * at random (with replacement, as Envoy does) and take the one with the
 * fewest active requests, the first drawn on a tie. Unequal weights: a
 * weighted draw where each host's weight is divided by
 * (active + 1)^activeRequestBias, so a busy heavy host sheds traffic to idle
 * light ones (bias 0 ignores load: plain weighted random). Envoy does the
 * weighted case with an EDF scheduler; a draw gives the same shares in
 * expectation and keeps no per-host state. "Active" is what the caller's load
 * report says: tries from this isolate still waiting for headers.
 */
export class LeastRequestBalancer implements Balancer {
  readonly #random: () => number;
  readonly #choiceCount: number;
  readonly #bias: number;
  /** The load report of the pick in progress, read by #effectiveWeight (a field, so no closure per pick). */
  #load: HostLoad | undefined;

  constructor(random: () => number, choiceCount: number, activeRequestBias: number) {
    this.#random = random;
    this.#choiceCount = Math.max(1, Math.floor(choiceCount));
    this.#bias = activeRequestBias;
  }

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>, load?: HostLoad): C | undefined {
    const n = eligibleCount(candidates, exclude);
    if (n === 0) return undefined;
    if (equalWeights(candidates, exclude)) return this.#powerOfChoices(candidates, exclude, n, load);
    if (load === undefined || this.#bias === 0) return weightedEligible(candidates, exclude, this.#random);
    this.#load = load;
    try {
      return weightedEligible(candidates, exclude, this.#random, this.#effectiveWeight);
    } finally {
      this.#load = undefined;
    }
  }

  #powerOfChoices<C extends Candidate>(candidates: readonly C[], exclude: ReadonlySet<string> | undefined, n: number, load: HostLoad | undefined): C | undefined {
    let best: C | undefined;
    let bestActive = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.#choiceCount; k++) {
      const c = uniformEligible(candidates, exclude, n, this.#random);
      if (c === undefined) continue;
      const active = load === undefined ? 0 : load.activeTries(c.id);
      if (active < bestActive) {
        best = c;
        bestActive = active;
      }
    }
    return best;
  }

  readonly #effectiveWeight = (c: Candidate): number => {
    const active = this.#load === undefined ? 0 : this.#load.activeTries(c.id);
    return weightOf(c) / Math.pow(active + 1, this.#bias);
  };
}
