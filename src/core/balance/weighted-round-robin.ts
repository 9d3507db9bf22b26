import type { Balancer, Candidate } from "./balancer.js";

/**
 * Smooth weighted round-robin (the nginx algorithm): each round every eligible
 * host gains its weight, the richest is chosen and pays back the round's total.
 * Over any window of sum(weights) picks each host is chosen exactly `weight`
 * times, interleaved rather than in bursts (5,1,1 gives a a b a c a a).
 */
export class WeightedRoundRobinBalancer implements Balancer {
  readonly #current = new Map<string, number>();

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>): C | undefined {
    let best: C | undefined;
    let bestScore = -Infinity;
    let total = 0;
    for (const c of candidates) {
      if (exclude !== undefined && exclude.has(c.id)) continue;
      const weight = c.weight > 0 ? c.weight : 1;
      const score = (this.#current.get(c.id) ?? 0) + weight;
      this.#current.set(c.id, score);
      total += weight;
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    if (best === undefined) return undefined;
    this.#current.set(best.id, bestScore - total);
    // Forget hosts that left, so the map cannot grow without bound.
    if (this.#current.size > candidates.length * 2 + 8) this.#prune(candidates);
    return best;
  }

  #prune(candidates: readonly Candidate[]): void {
    const live = new Set(candidates.map((c) => c.id));
    for (const id of this.#current.keys()) if (!live.has(id)) this.#current.delete(id);
  }
}
