/**
 * The one latency bucket layout every router, coordinator and scrape shares,
 * so histograms from any isolate merge by adding counts index by index.
 *
 * Upper bounds run from 1 ms to 65.5 s, four per doubling (ratio 2^(1/4),
 * about 1.19), rounded to three significant digits so the `le` labels read
 * cleanly. Four per doubling keeps a percentile within about 9.6 % of the
 * exact value (PERCENTILE_RELATIVE_ERROR) at 66 buckets per histogram; a
 * finer ratio would multiply the scrape's series for little gain at
 * millisecond timer resolution.
 */
const PER_DOUBLING = 4;
const DOUBLINGS = 16;

function roundSignificant(x: number, digits: number): number {
  const scale = 10 ** (digits - 1 - Math.floor(Math.log10(x)));
  return Math.round(x * scale) / scale;
}

/** Ascending upper bounds in milliseconds; one more bucket past the last catches everything slower (+Inf). */
export const BUCKET_BOUNDS_MS: readonly number[] = Array.from({ length: PER_DOUBLING * DOUBLINGS + 1 }, (_, i) =>
  roundSignificant(2 ** (i / PER_DOUBLING), 3),
);

/** Buckets per histogram, the +Inf overflow included. */
export const BUCKET_COUNT = BUCKET_BOUNDS_MS.length + 1;

const LAST_BOUND = BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.length - 1] ?? 0;

/** The bucket holding `ms`: the first whose upper bound is ≥ ms (Prometheus' `le`). Binary search, no allocation. */
export function bucketIndex(ms: number): number {
  if (!(ms > 1)) return 0; // also NaN and negatives: a clock that stepped back is not a slow request
  if (ms > LAST_BOUND) return BUCKET_COUNT - 1;
  let lo = 0;
  let hi = BUCKET_BOUNDS_MS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((BUCKET_BOUNDS_MS[mid] ?? 0) >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The value a percentile falling in bucket `i` is reported as: the geometric
 * midpoint of its bounds (which halves the worst relative error of reporting
 * either end), half a millisecond for the first bucket, and the last finite
 * bound for the overflow (a lower bound: "at least 65.5 s").
 */
export function bucketEstimate(i: number): number {
  if (i <= 0) return 0.5;
  const upper = BUCKET_BOUNDS_MS[i];
  const lower = BUCKET_BOUNDS_MS[i - 1] ?? 0;
  if (upper === undefined) return LAST_BOUND;
  return Math.sqrt(lower * upper);
}

function worstRelativeError(): number {
  let worst = 0;
  for (let i = 1; i < BUCKET_BOUNDS_MS.length; i++) {
    const lower = BUCKET_BOUNDS_MS[i - 1] ?? 1;
    const upper = BUCKET_BOUNDS_MS[i] ?? 1;
    worst = Math.max(worst, Math.sqrt(upper / lower) - 1);
  }
  return worst;
}

/** Largest relative error of a reported percentile above 1 ms up to the last bound, from the rounded layout itself. */
export const PERCENTILE_RELATIVE_ERROR = worstRelativeError();

export const PERCENTILE_ERROR =
  `Percentiles come from fixed log-spaced buckets (4 per doubling, 1 ms to ${String(LAST_BOUND / 1000)} s): ` +
  `each is reported as its bucket's geometric midpoint, within ${(PERCENTILE_RELATIVE_ERROR * 100).toFixed(1)} % ` +
  `of the exact value above 1 ms up to ${String(LAST_BOUND / 1000)} s, within 0.5 ms at or below 1 ms, and as ${String(LAST_BOUND)} ms (a lower bound) beyond.`;
