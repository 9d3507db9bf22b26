// @ts-check
// Small numeric helpers shared by the scenarios and the report.

/**
 * Nearest-rank percentile of an ascending-sorted array; NaN when empty.
 * @param {readonly number[]} sorted
 * @param {number} p percent, 0–100
 * @returns {number}
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

/**
 * Median of the finite values; NaN when there are none.
 * @param {Iterable<number>} values
 * @returns {number}
 */
export function median(values) {
  const s = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  const hi = s[mid] ?? Number.NaN;
  return s.length % 2 === 1 ? hi : ((s[mid - 1] ?? Number.NaN) + hi) / 2;
}

/**
 * p50/p90/p99/max/mean of unsorted samples (ms).
 * @param {Iterable<number>} samples
 * @returns {{ count: number, p50: number, p90: number, p99: number, max: number, mean: number }}
 */
export function latencySummary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { count: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN, mean };
}

/**
 * Rounds for JSON output: keeps results readable without losing meaning.
 * @param {number} value
 * @param {number} [digits]
 * @returns {number | null} null for NaN or an infinity (JSON has neither)
 */
export function round(value, digits = 3) {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** @param {number} ms @returns {Promise<void>} */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
