import type { Candidate } from "../balancer.js";
import { isEligible, weightOf } from "../draw.js";
import { derivedHash, hashString } from "./hash.js";
import { TableBalancer } from "./table-balancer.js";

/**
 * Maglev's lookup table (Eisenbud et al., NSDI 2016). M is prime, so each
 * host's preference list, offset + k·skip (mod M) for k = 0…M−1, visits every
 * slot once. Hosts take turns claiming their next preferred free slot until
 * the table is full. Weighted as Envoy does: a host claims a slot in a round
 * only when its accumulated weight reaches the heaviest weight, so the
 * heaviest host claims every round and a host of half its weight every other
 * one. With equal weights every host ends with ⌊M/N⌋ or ⌈M/N⌉ slots.
 */
export const MAGLEV_TABLE_SIZE = 65_537;

/** Slot → index of its host in the candidate list; every slot is filled (when there is a host). */
export function buildMaglevTable(candidates: readonly Candidate[], size = MAGLEV_TABLE_SIZE): Int32Array {
  const table = new Int32Array(size).fill(-1);
  const n = candidates.length;
  if (n === 0) return table;
  const next = new Float64Array(n);
  const skip = new Float64Array(n);
  const credit = new Float64Array(n);
  let heaviest = 0;
  candidates.forEach((c, i) => {
    const base = hashString(c.id);
    next[i] = derivedHash(base, 0) % size;
    skip[i] = (derivedHash(base, 1) % (size - 1)) + 1;
    heaviest = Math.max(heaviest, weightOf(c));
  });
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const c = candidates[i];
      if (c === undefined) continue;
      // Integer credit: exact, so equal weights claim in lockstep.
      credit[i] = (credit[i] ?? 0) + weightOf(c);
      if ((credit[i] ?? 0) < heaviest) continue;
      credit[i] = (credit[i] ?? 0) - heaviest;
      const step = skip[i] ?? 1;
      let slot = next[i] ?? 0;
      while ((table[slot] ?? 0) !== -1) slot = (slot + step) % size;
      table[slot] = i;
      next[i] = (slot + step) % size;
      if (++filled === size) return table;
    }
  }
}

/** `maglev`: a key goes to the host in slot hash mod M; past an excluded host, to the next slot's. */
export class MaglevBalancer extends TableBalancer<Int32Array> {
  protected build(candidates: readonly Candidate[]): Int32Array {
    return buildMaglevTable(candidates);
  }

  protected lookup(table: Int32Array, hash: number, candidates: readonly Candidate[], exclude: ReadonlySet<string> | undefined): number {
    const size = table.length;
    const start = hash % size;
    for (let s = 0; s < size; s++) {
      const owner = table[(start + s) % size] ?? -1;
      const c = candidates[owner];
      if (c !== undefined && isEligible(c, exclude)) return owner;
    }
    return -1;
  }
}
