import type { Balancer, Candidate, HostLoad } from "../balancer.js";
import { eligibleCount, nthEligible } from "../draw.js";

/**
 * The least estimate a cost is computed from: half the 1 ms step latencies
 * are measured in, since an answer observed at 0 ms took somewhere in [0, 1)
 * ms. Below it, estimates (observed at 0, or decayed that far) say nothing
 * more about speed, and a product with 0 would ignore the tries in flight.
 */
const MIN_COST_ESTIMATE_MS = 0.5;

interface Estimate {
  /** Milliseconds, as of `at`. */
  rtt: number;
  at: number;
}

/**
 * Peak-EWMA (Finagle's and Linkerd's least-response-time balancer).
 *
 * Each host keeps a round-trip estimate. An observation slower than the
 * estimate replaces it at once (the "peak": a host that turns slow is avoided
 * from its first slow answer); a faster one is blended in with weight
 * 1 − exp(−elapsed / decay), so the estimate comes down only as fast answers
 * keep arriving. At pick time the estimate decays toward zero with the time
 * since it was last updated, as Linkerd's does, so a host avoided for being
 * slow is tried again after a while instead of starving forever. A host never
 * observed costs `defaultRttMs`.
 *
 * cost = max(estimate, MIN_COST_ESTIMATE_MS) × (tries in flight + 1); two distinct hosts are drawn at
 * random and the cheaper one wins (power of two choices), which avoids every
 * isolate herding onto the single cheapest host. Weights are ignored, as in
 * Linkerd. The estimates are this balancer's own: per isolate at the edge.
 */
export class PeakEwmaBalancer implements Balancer {
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #decayMs: number;
  readonly #defaultRttMs: number;
  readonly #estimates = new Map<string, Estimate>();

  constructor(random: () => number, now: () => number, decayMs: number, defaultRttMs: number) {
    this.#random = random;
    this.#now = now;
    this.#decayMs = decayMs;
    this.#defaultRttMs = defaultRttMs;
  }

  observe(id: string, latencyMs: number, now: number): void {
    if (!(latencyMs >= 0)) return;
    const e = this.#estimates.get(id);
    if (e === undefined) {
      this.#estimates.set(id, { rtt: latencyMs, at: now });
      return;
    }
    if (latencyMs > e.rtt) {
      e.rtt = latencyMs;
    } else {
      const w = Math.exp(-Math.max(0, now - e.at) / this.#decayMs);
      e.rtt = e.rtt * w + latencyMs * (1 - w);
    }
    e.at = Math.max(e.at, now);
  }

  /** The host's current estimate in ms (decayed to `now`); exported for tests and the docs' examples. */
  estimateMs(id: string, now: number): number {
    const e = this.#estimates.get(id);
    if (e === undefined) return this.#defaultRttMs;
    return e.rtt * Math.exp(-Math.max(0, now - e.at) / this.#decayMs);
  }

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>, load?: HostLoad): C | undefined {
    const n = eligibleCount(candidates, exclude);
    if (n <= 1) return nthEligible(candidates, exclude, 0);
    // Two distinct draws: the second skips over the first's position.
    const i = Math.min(n - 1, Math.floor(this.#random() * n));
    let j = Math.min(n - 2, Math.floor(this.#random() * (n - 1)));
    if (j >= i) j++;
    const a = nthEligible(candidates, exclude, i);
    const b = nthEligible(candidates, exclude, j);
    if (a === undefined || b === undefined) return a ?? b;
    const now = this.#now();
    return this.#cost(b, now, load) < this.#cost(a, now, load) ? b : a;
  }

  #cost(c: Candidate, now: number, load: HostLoad | undefined): number {
    const pending = load === undefined ? 0 : load.activeTries(c.id);
    // Latency is measured in whole ms, so an origin answering in under 1 ms is observed at 0 (and a long-unobserved
    // estimate decays to exactly 0): with the product taken from 0, such a host kept winning with 50 tries in flight,
    // and hosts all at 0 ms were compared by nothing. Not Finagle's penalty for 0, which stands for "no data" there
    // (here that is defaultRttMs): it made a 200 ms idle host cheaper than a sub-millisecond one with one try out.
    return Math.max(this.estimateMs(c.id, now), MIN_COST_ESTIMATE_MS) * (pending + 1);
  }

  /**
   * Forgets hosts that left, so the map cannot grow without bound: called with
   * the service's whole list when a snapshot arrives. Never from a pick, whose
   * list may be one zone, split group or priority level: pruning there threw
   * away the estimates of every other host, and a host seen slow from one zone
   * was back at `defaultRttMs` after the next pick in another.
   */
  prepare(candidates: readonly Candidate[]): void {
    if (this.#estimates.size === 0) return;
    const live = new Set(candidates.map((c) => c.id));
    for (const id of this.#estimates.keys()) if (!live.has(id)) this.#estimates.delete(id);
  }
}
