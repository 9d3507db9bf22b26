import type { Candidate } from "../balancer.js";
import { isEligible, weightOf } from "../draw.js";
import { derivedHash, hashString } from "./hash.js";
import { TableBalancer } from "./table-balancer.js";

/**
 * A Ketama-style consistent-hash ring. Each host gets points on a 32-bit
 * circle, as many as POINTS_PER_HOST × weight ÷ the heaviest weight (at least
 * one), at positions derived from its id alone; a key belongs to the first
 * point at or after its hash. Because a host's points depend only on its id
 * and relative weight, removing one of N equal-weight hosts moves only the
 * keys that were on it, about 1/N (test/unit/balance/hash-properties.test.ts);
 * removing the single heaviest host rescales the others' point counts, which
 * moves more.
 */
export const POINTS_PER_HOST = 1024;

/** Points are packed as hash × 2^20 + host index before sorting: exact in a float64 (2^52). */
const INDEX_SPACE = 1 << 20;

export interface Ring {
  /** Point positions, ascending. */
  points: Uint32Array;
  /** For each point, the index of its host in the candidate list the ring was built from. */
  owners: Uint32Array;
}

export function buildRing(candidates: readonly Candidate[]): Ring {
  if (candidates.length >= INDEX_SPACE) throw new Error(`a ring holds at most ${INDEX_SPACE - 1} hosts`);
  let heaviest = 0;
  for (const c of candidates) heaviest = Math.max(heaviest, weightOf(c));
  const counts = candidates.map((c) => Math.max(1, Math.round((POINTS_PER_HOST * weightOf(c)) / heaviest)));
  let total = 0;
  for (const n of counts) total += n;
  const packed = new Float64Array(total);
  let k = 0;
  candidates.forEach((c, i) => {
    const base = hashString(c.id);
    const n = counts[i] ?? 0;
    for (let j = 0; j < n; j++) packed[k++] = derivedHash(base, j) * INDEX_SPACE + i;
  });
  packed.sort();
  const points = new Uint32Array(total);
  const owners = new Uint32Array(total);
  for (let p = 0; p < total; p++) {
    const v = packed[p] ?? 0;
    owners[p] = v % INDEX_SPACE;
    points[p] = (v - (owners[p] ?? 0)) / INDEX_SPACE;
  }
  return { points, owners };
}

/** Index of the first point at or after `hash`, wrapping to 0 past the last. */
export function ringStart(ring: Ring, hash: number): number {
  let lo = 0;
  let hi = ring.points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ring.points[mid] ?? 0) < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.points.length ? 0 : lo;
}

/** `ring_hash`: a key goes to the ring's next point at or after its hash; an excluded host's points are walked past. */
export class RingHashBalancer extends TableBalancer<Ring> {
  protected build(candidates: readonly Candidate[]): Ring {
    return buildRing(candidates);
  }

  protected lookup(ring: Ring, hash: number, candidates: readonly Candidate[], exclude: ReadonlySet<string> | undefined): number {
    const total = ring.points.length;
    const start = ringStart(ring, hash);
    for (let s = 0; s < total; s++) {
      const owner = ring.owners[(start + s) % total] ?? -1;
      const c = candidates[owner];
      if (c !== undefined && isEligible(c, exclude)) return owner;
    }
    return -1;
  }
}
