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

/** A host's preference list in a table of `size` slots: offset, offset + skip, offset + 2·skip, … (mod size). */
export function maglevPreference(id: string, size = MAGLEV_TABLE_SIZE): { offset: number; skip: number } {
  const base = hashString(id);
  return { offset: derivedHash(base, 0) % size, skip: (derivedHash(base, 1) % (size - 1)) + 1 };
}

/**
 * Slot → index of its host in `candidates`; every slot is filled when there is
 * a host. Hosts take turns in id order, not list order, so the table (as
 * slot → id) is the same in every isolate whatever order its list came in.
 */
export function buildMaglevTable(candidates: readonly Candidate[], size = MAGLEV_TABLE_SIZE): Int32Array {
  const table = new Int32Array(size).fill(-1);
  const n = candidates.length;
  if (n === 0) return table;
  const order = candidates.map((_, i) => i).sort((a, b) => compareIds(candidates[a]?.id ?? "", candidates[b]?.id ?? ""));
  const next = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Int32Array(n);
  const credit = new Int32Array(n);
  let heaviest = 0;
  candidates.forEach((c, i) => {
    const pref = maglevPreference(c.id, size);
    next[i] = pref.offset;
    skip[i] = pref.skip;
    weight[i] = weightOf(c);
    heaviest = Math.max(heaviest, weightOf(c));
  });
  let filled = 0;
  for (;;) {
    for (const i of order) {
      // Integer credit: exact, so equal weights claim in lockstep.
      const owed = (credit[i] ?? 0) + (weight[i] ?? 1);
      if (owed < heaviest) {
        credit[i] = owed;
        continue;
      }
      credit[i] = owed - heaviest;
      const step = skip[i] ?? 1;
      let slot = next[i] ?? 0;
      // Adding and wrapping instead of `%`: this loop is most of the build's ~M·ln(M) probes.
      while (table[slot] !== -1) {
        slot += step;
        if (slot >= size) slot -= size;
      }
      table[slot] = i;
      slot += step;
      next[i] = slot >= size ? slot - size : slot;
      if (++filled === size) return table;
    }
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
