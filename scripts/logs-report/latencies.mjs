// @ts-check
// Latencies kept as a count per value, for exact nearest-rank percentiles
// without keeping (or sorting) every value: the mesh prints whole
// milliseconds, so a million requests fall on a few hundred distinct values.
// Two sets merge by adding counts, which is how worker threads' partials join.
//
// A value may be pushed with a weight (a sampled request line stands for
// `weight` requests: docs/analytics.md, "Sampling the request line"). Whole
// weights are exact: the percentiles are those of the list with each value
// repeated `weight` times. A fractional weight (1/p for a p like 0.3) makes
// the counts fractional; the percentile is then the smallest value whose
// cumulative weight reaches p % of the total, in floating point, so a value
// right at a rank boundary may fall either way by a rounding of the sums.

/** Whole milliseconds below this count in a typed array indexed by the value (grown to the largest seen); anything else in a Map. */
const DENSE_MAX = 1 << 16;

/**
 * The counts of one set of latencies as plain data (for postMessage): `dense[v]` is how many were `v` ms;
 * `fractional` when some weight was not a whole number.
 * @typedef {{ count: number, dense: Float64Array<ArrayBuffer>, sparse: Map<number, number>, fractional: boolean }} LatencyCounts */

export class Latencies {
  constructor() {
    this.count = 0;
    /** Counts (as doubles: exact to 2^53) of whole milliseconds 0 .. length-1. */
    this.dense = new Float64Array(256);
    /** Counts of every other value: fractions, negatives, over DENSE_MAX. @type {Map<number, number>} */
    this.sparse = new Map();
    /** Set once a weight that is not a whole number is counted: the ranks are then not whole either. */
    this.fractional = false;
  }

  /** @param {number} size at least this many dense slots */
  #grow(size) {
    let n = this.dense.length;
    while (n < size) n *= 2;
    const next = new Float64Array(n);
    next.set(this.dense);
    this.dense = next;
  }

  /** @param {number} v @param {number} [weight] how many requests `v` stands for (a request line's `weight`) */
  push(v, weight = 1) {
    this.count += weight;
    if (weight !== 1 && !Number.isInteger(weight)) this.fractional = true;
    if (v >= 0 && v < DENSE_MAX && Math.floor(v) === v) {
      if (v >= this.dense.length) this.#grow(v + 1);
      this.dense[v] = (this.dense[v] ?? 0) + weight;
    } else this.sparse.set(v, (this.sparse.get(v) ?? 0) + weight);
  }

  /** A copy as plain data, its typed array in a buffer of its own (so it can be transferred between threads). @returns {LatencyCounts} */
  counts() {
    let used = this.dense.length;
    while (used > 0 && this.dense[used - 1] === 0) used--;
    return { count: this.count, dense: this.dense.slice(0, used), sparse: this.sparse, fractional: this.fractional };
  }

  /** @param {LatencyCounts} other */
  merge(other) {
    this.count += other.count;
    if (other.fractional) this.fractional = true;
    if (other.dense.length > this.dense.length) this.#grow(other.dense.length);
    for (let v = 0; v < other.dense.length; v++) this.dense[v] = (this.dense[v] ?? 0) + (other.dense[v] ?? 0);
    for (const [v, n] of other.sparse) this.sparse.set(v, (this.sparse.get(v) ?? 0) + n);
  }

  /**
   * Nearest rank: the smallest value with at least ceil(p% of count) values at or below it; with
   * fractional weights, the smallest whose cumulative weight reaches p% of the total (see the top).
   * @returns {{ p50: number, p95: number, p99: number, max: number } | null}
   */
  percentiles() {
    const n = this.count;
    if (n <= 0) return null;
    const ranks = [50, 95, 99].map((p) => (this.fractional ? (p / 100) * n : Math.min(n, Math.max(1, Math.ceil((p / 100) * n)))));
    /** @type {number[]} */
    const found = [];
    let seen = 0;
    let max = 0;
    /** @param {number} v @param {number} c */
    const visit = (v, c) => {
      seen += c;
      for (let r = ranks[found.length]; r !== undefined && seen >= r; r = ranks[found.length]) found.push(v);
      max = v;
    };
    const sparse = [...this.sparse].sort((a, b) => a[0] - b[0]);
    let j = 0;
    for (let v = 0; v < this.dense.length; v++) {
      const c = this.dense[v] ?? 0;
      if (c === 0) continue;
      for (let s = sparse[j]; s !== undefined && s[0] < v; s = sparse[++j]) visit(s[0], s[1]);
      visit(v, c);
    }
    for (let s = sparse[j]; s !== undefined; s = sparse[++j]) visit(s[0], s[1]);
    // A rank left unreached can only be a fractional sum a rounding short of the total: it is the largest value.
    return { p50: found[0] ?? max, p95: found[1] ?? max, p99: found[2] ?? max, max };
  }
}
