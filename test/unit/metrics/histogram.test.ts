import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUCKET_BOUNDS_MS, BUCKET_COUNT, bucketIndex, PERCENTILE_ERROR, PERCENTILE_RELATIVE_ERROR } from "../../../src/core/metrics/buckets.js";
import { addHistogram, emptyHistogram, histogramCount, percentile, type Histogram } from "../../../src/core/metrics/histogram.js";

function histogramOf(values: readonly number[]): Histogram {
  const h = emptyHistogram();
  for (const v of values) {
    const i = bucketIndex(v);
    h.counts[i] = (h.counts[i] ?? 0) + 1;
    h.sumMs += v;
  }
  return h;
}

/** Nearest-rank percentile of the raw values: the definition the histogram's estimate is held to. */
function exactPercentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] ?? NaN;
}

const latency = fc.double({ min: 0, max: 70_000, noNaN: true });
const histogramArb = fc.array(latency, { maxLength: 40 }).map(histogramOf);

describe("bucket layout", () => {
  it("is ascending from 1 ms to 65.5 s with a +Inf overflow, and every value lands in the bucket whose bounds hold it", () => {
    expect(BUCKET_BOUNDS_MS[0]).toBe(1);
    expect(BUCKET_BOUNDS_MS.at(-1)).toBe(65_500);
    expect(BUCKET_COUNT).toBe(BUCKET_BOUNDS_MS.length + 1);
    for (let i = 1; i < BUCKET_BOUNDS_MS.length; i++) expect(BUCKET_BOUNDS_MS[i]).toBeGreaterThan(BUCKET_BOUNDS_MS[i - 1] ?? Infinity);
    fc.assert(
      fc.property(latency, (v) => {
        const i = bucketIndex(v);
        const upper = BUCKET_BOUNDS_MS[i] ?? Infinity;
        const lower = i === 0 ? -Infinity : (BUCKET_BOUNDS_MS[i - 1] ?? Infinity);
        expect(v).toBeLessThanOrEqual(upper);
        expect(v).toBeGreaterThan(lower);
      }),
    );
    // Edges: a bound itself belongs to its bucket (Prometheus' le), junk to the first.
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(2)).toBe(BUCKET_BOUNDS_MS.indexOf(2));
    expect(bucketIndex(-5)).toBe(0);
    expect(bucketIndex(NaN)).toBe(0);
    expect(bucketIndex(1e12)).toBe(BUCKET_COUNT - 1);
  });

  it("states the error bound its rounded bounds imply, about 9.4 %", () => {
    expect(PERCENTILE_RELATIVE_ERROR).toBeGreaterThan(0.09);
    expect(PERCENTILE_RELATIVE_ERROR).toBeLessThan(0.1);
    expect(PERCENTILE_ERROR).toContain(`${(PERCENTILE_RELATIVE_ERROR * 100).toFixed(1)} %`);
  });
});

describe("histogram merge", () => {
  it("is commutative and associative, and equals the histogram of all the values", () => {
    fc.assert(
      fc.property(histogramArb, histogramArb, histogramArb, (a, b, c) => {
        const copy = (h: Histogram): Histogram => ({ counts: [...h.counts], sumMs: h.sumMs });
        const ab = addHistogram(copy(a), b);
        const ba = addHistogram(copy(b), a);
        expect(ab.counts).toEqual(ba.counts);
        expect(ab.sumMs).toBeCloseTo(ba.sumMs, 6);
        const left = addHistogram(addHistogram(copy(a), b), c);
        const right = addHistogram(copy(a), addHistogram(copy(b), c));
        expect(left.counts).toEqual(right.counts);
        expect(left.sumMs).toBeCloseTo(right.sumMs, 6);
        expect(histogramCount(left)).toBe(histogramCount(a) + histogramCount(b) + histogramCount(c));
      }),
    );
  });

  it("merging the histograms of two lists gives the histogram of their concatenation", () => {
    fc.assert(
      fc.property(fc.array(latency), fc.array(latency), (xs, ys) => {
        expect(addHistogram(histogramOf(xs), histogramOf(ys)).counts).toEqual(histogramOf([...xs, ...ys]).counts);
      }),
    );
  });
});

describe("percentile", () => {
  it("is null for an empty histogram", () => {
    expect(percentile(emptyHistogram(), 0.5)).toBeNull();
  });

  it("is within the stated relative error of the exact nearest-rank percentile (1 ms < value ≤ 65.5 s), within 0.5 ms at or below 1 ms", () => {
    fc.assert(
      fc.property(
        fc.array(latency, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.99, 0.999, 1),
        (values, q) => {
          const exact = exactPercentile(values, q);
          const estimate = percentile(histogramOf(values), q) ?? NaN;
          if (exact <= 1) expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(0.5);
          else if (exact > 65_500) expect(estimate).toBe(65_500);
          else expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(PERCENTILE_RELATIVE_ERROR + 1e-12);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reads ranks across buckets: 90 fast and 10 slow requests", () => {
    const h = histogramOf([...Array<number>(90).fill(10), ...Array<number>(10).fill(1000)]);
    expect(percentile(h, 0.5)).toBeCloseTo(Math.sqrt(9.51 * 11.3), 6);
    expect(percentile(h, 0.9)).toBeCloseTo(Math.sqrt(9.51 * 11.3), 6);
    expect(percentile(h, 0.91)).toBeCloseTo(Math.sqrt(861 * 1020), 6);
  });
});
