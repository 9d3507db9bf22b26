import type { Balancer, Candidate } from "./balancer.js";

/**
 * Plain rotation. The cursor advances once per pick, and excluded hosts are
 * skipped by walking forward from it, so a retry lands on the next host in
 * order rather than on a random one.
 */
export class RoundRobinBalancer implements Balancer {
  #cursor: number;

  /** `start` lets each isolate begin at a different offset so cold isolates do not all hit host 0. */
  constructor(start = 0) {
    this.#cursor = Math.max(0, Math.floor(start));
  }

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const base = this.#cursor % n;
    this.#cursor = (this.#cursor + 1) % 1_000_000_007;
    for (let i = 0; i < n; i++) {
      const c = candidates[(base + i) % n];
      if (c !== undefined && (exclude === undefined || !exclude.has(c.id))) return c;
    }
    return undefined;
  }
}
