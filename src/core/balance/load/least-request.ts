import type { Balancer, Candidate, HostLoad } from "../balancer.js";
import { eligibleCount, equalWeights, isEligible, uniformEligible, weightedEligible, weightOf } from "../draw.js";

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
  /** Effective weights of the pick in progress, by candidate index; reused across picks, grown when needed. */
  #scratch = new Float64Array(16);

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
    return this.#weightedByLoad(candidates, exclude, load);
  }

  /**
   * A draw by weight ÷ (active + 1)^bias. Each host's load is asked once and
   * its effective weight kept in a reused array, so the second pass (finding
   * where the draw lands) reads numbers only.
   */
  #weightedByLoad<C extends Candidate>(candidates: readonly C[], exclude: ReadonlySet<string> | undefined, load: HostLoad): C | undefined {
    if (this.#scratch.length < candidates.length) this.#scratch = new Float64Array(candidates.length * 2);
    const eff = this.#scratch;
    let total = 0;
    let last = -1;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      if (c === undefined || !isEligible(c, exclude)) {
        eff[i] = 0;
        continue;
      }
      const active = load.activeTries(c.id);
      // Envoy's default bias is 1.0: a division, no pow.
      const w = active === 0 ? weightOf(c) : this.#bias === 1 ? weightOf(c) / (active + 1) : weightOf(c) / Math.pow(active + 1, this.#bias);
      eff[i] = w;
      total += w;
      last = i;
    }
    if (last === -1) return undefined;
    let point = this.#random() * total;
    for (let i = 0; i <= last; i++) {
      point -= eff[i] ?? 0;
      if (point < 0 && (eff[i] ?? 0) > 0) return candidates[i];
    }
    // Floating-point rounding can leave a sliver past the last weight.
    return candidates[last];
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
}
