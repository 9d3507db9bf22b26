import type { Balancer, Candidate } from "./balancer.js";

/** A host's running score, and the pick that last offered it. */
interface Score {
  current: number;
  seen: number;
}

/**
 * Hosts not offered for this many picks are forgotten (they left, or their
 * pool has gone quiet); a forgotten host simply starts its score again.
 */
const FORGET_AFTER_PICKS = 1024;

/**
 * Smooth weighted round-robin (the nginx algorithm): each round every eligible
 * host gains its weight, the richest is chosen and pays back the round's total.
 * Over any window of sum(weights) picks each host is chosen exactly `weight`
 * times, interleaved rather than in bursts (5,1,1 gives a a b a c a a).
 *
 * One balancer serves a service's every pool: a locality zone, a split group
 * and a priority level each hand it a different list, and picks from them
 * interleave. So a host is forgotten only when it has not been offered for a
 * while, never because the current list lacks it: dropping the other lists'
 * scores on every pick restarted their rotation each time, and sent most of
 * a large zone's traffic to its first host.
 */
export class WeightedRoundRobinBalancer implements Balancer {
  readonly #scores = new Map<string, Score>();
  #picks = 0;
  #sweptAt = 0;

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>): C | undefined {
    const pickNo = ++this.#picks;
    let best: Score | undefined;
    let bestHost: C | undefined;
    let total = 0;
    for (const c of candidates) {
      if (exclude !== undefined && exclude.has(c.id)) continue;
      const weight = c.weight > 0 ? c.weight : 1;
      let s = this.#scores.get(c.id);
      if (s === undefined) {
        s = { current: 0, seen: pickNo };
        this.#scores.set(c.id, s);
      }
      s.current += weight;
      s.seen = pickNo;
      total += weight;
      if (best === undefined || s.current > best.current) {
        best = s;
        bestHost = c;
      }
    }
    if (best === undefined) return undefined;
    best.current -= total;
    if (pickNo - this.#sweptAt >= FORGET_AFTER_PICKS && this.#scores.size > candidates.length) this.#forgetUnseen();
    return bestHost;
  }

  /** Drops hosts not offered since the last sweep, so the map cannot grow without bound. */
  #forgetUnseen(): void {
    for (const [id, s] of this.#scores) if (s.seen <= this.#sweptAt) this.#scores.delete(id);
    this.#sweptAt = this.#picks;
  }
}
