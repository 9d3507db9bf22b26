import type { Candidate } from "./balancer.js";

/**
 * Random draws over the candidates a pick may return (not in `exclude`),
 * shared by the random, load-aware and hash kinds. They walk the list instead
 * of building a filtered copy, so a pick allocates nothing.
 */

export function isEligible(c: Candidate, exclude: ReadonlySet<string> | undefined): boolean {
  return exclude === undefined || !exclude.has(c.id);
}

export function eligibleCount(candidates: readonly Candidate[], exclude: ReadonlySet<string> | undefined): number {
  if (exclude === undefined || exclude.size === 0) return candidates.length;
  let n = 0;
  for (const c of candidates) if (!exclude.has(c.id)) n++;
  return n;
}

/** The `nth` (0-based) eligible candidate. */
export function nthEligible<C extends Candidate>(candidates: readonly C[], exclude: ReadonlySet<string> | undefined, nth: number): C | undefined {
  if (exclude === undefined || exclude.size === 0) return candidates[nth];
  let seen = 0;
  for (const c of candidates) {
    if (exclude.has(c.id)) continue;
    if (seen === nth) return c;
    seen++;
  }
  return undefined;
}

/** A uniformly random eligible candidate; `eligible` is eligibleCount's answer. */
export function uniformEligible<C extends Candidate>(
  candidates: readonly C[],
  exclude: ReadonlySet<string> | undefined,
  eligible: number,
  random: () => number,
): C | undefined {
  if (eligible === 0) return undefined;
  return nthEligible(candidates, exclude, Math.min(eligible - 1, Math.floor(random() * eligible)));
}

/** A weight that is safe to add up: a missing or non-positive weight counts as 1, as in the rotation kinds. */
export function weightOf(c: Candidate): number {
  return c.weight > 0 ? c.weight : 1;
}

/** An eligible candidate drawn with probability proportional to its weight. Two passes, no allocation. */
export function weightedEligible<C extends Candidate>(candidates: readonly C[], exclude: ReadonlySet<string> | undefined, random: () => number): C | undefined {
  let total = 0;
  let last: C | undefined;
  for (const c of candidates) {
    if (!isEligible(c, exclude)) continue;
    total += weightOf(c);
    last = c;
  }
  if (last === undefined) return undefined;
  let point = random() * total;
  for (const c of candidates) {
    if (!isEligible(c, exclude)) continue;
    point -= weightOf(c);
    if (point < 0) return c;
  }
  // Floating-point rounding can leave a sliver past the last weight.
  return last;
}

/** True when every eligible candidate has the same weight (least_request switches algorithm on it). */
export function equalWeights(candidates: readonly Candidate[], exclude: ReadonlySet<string> | undefined): boolean {
  let first = -1;
  for (const c of candidates) {
    if (!isEligible(c, exclude)) continue;
    const w = weightOf(c);
    if (first === -1) first = w;
    else if (w !== first) return false;
  }
  return true;
}
