import type { Balancer, Candidate, HostLoad } from "../balancer.js";
import { eligibleCount, weightedEligible } from "../draw.js";
import { hashString } from "./hash.js";

/**
 * The shared shape of the hash kinds: a table built from the candidate list
 * and kept while the same list comes back (at the edge, one snapshot array
 * per snapshot version, so one build per version and isolate), a lookup from
 * the key's hash that walks on past excluded hosts, and a weighted random
 * draw for requests without a key.
 */
export abstract class TableBalancer<T> implements Balancer {
  readonly #random: () => number;
  #list: readonly Candidate[] | null = null;
  #table: T | null = null;

  constructor(random: () => number) {
    this.#random = random;
  }

  protected abstract build(candidates: readonly Candidate[]): T;
  /** The index (into `candidates`) of the first host for `hash` that `eligible` accepts; -1 when none does. */
  protected abstract lookup(table: T, hash: number, candidates: readonly Candidate[], exclude: ReadonlySet<string> | undefined): number;

  prepare(candidates: readonly Candidate[]): void {
    this.tableFor(candidates);
  }

  /** The table for `candidates`, built at most once per list. */
  tableFor(candidates: readonly Candidate[]): T {
    if (this.#table === null || this.#list !== candidates) {
      this.#table = this.build(candidates);
      this.#list = candidates;
    }
    return this.#table;
  }

  pick<C extends Candidate>(candidates: readonly C[], exclude?: ReadonlySet<string>, _load?: HostLoad, key?: string): C | undefined {
    if (key === undefined) return weightedEligible(candidates, exclude, this.#random);
    if (eligibleCount(candidates, exclude) === 0) return undefined;
    const table = this.tableFor(candidates);
    const at = this.lookup(table, hashString(key), candidates, exclude);
    return candidates[at];
  }
}

