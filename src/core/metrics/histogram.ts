import { BUCKET_COUNT, bucketEstimate } from "./buckets.js";

/**
 * A latency histogram over the fixed layout (buckets.ts): a count per bucket
 * and the sum of the observed milliseconds. Two histograms merge by adding,
 * so deltas from any number of isolates and minutes combine in any order.
 */
export interface Histogram {
  /** BUCKET_COUNT counts, the last one the +Inf overflow. */
  counts: number[];
  sumMs: number;
}

export function emptyHistogram(): Histogram {
  return { counts: new Array<number>(BUCKET_COUNT).fill(0), sumMs: 0 };
}

/** Adds `from` into `into` (in place) and returns it. */
export function addHistogram(into: Histogram, from: Histogram): Histogram {
  const n = Math.min(into.counts.length, from.counts.length);
  for (let i = 0; i < n; i++) into.counts[i] = (into.counts[i] ?? 0) + (from.counts[i] ?? 0);
  into.sumMs += from.sumMs;
  return into;
}

export function histogramCount(h: Histogram): number {
  let n = 0;
  for (const c of h.counts) n += c;
  return n;
}

/**
 * The q-quantile (0 < q ≤ 1) by nearest rank: the bucket holding the
 * ceil(q·n)-th smallest observation, reported as bucketEstimate(bucket). Null
 * for an empty histogram, so "no requests" never reads as "0 ms".
 */
export function percentile(h: Histogram, q: number): number | null {
  const total = histogramCount(h);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i] ?? 0;
    if (seen >= rank) return bucketEstimate(i);
  }
  return bucketEstimate(h.counts.length - 1);
}
