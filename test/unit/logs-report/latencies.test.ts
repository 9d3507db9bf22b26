import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Latencies } from "../../../scripts/logs-report/latencies.mjs";

/** Nearest rank over the sorted values: what the report promised before latencies were counted. */
function bySorting(values: number[]): { p50: number; p95: number; p99: number; max: number } | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
  return { p50: rank(50), p95: rank(95), p99: rank(99), max: sorted[sorted.length - 1] ?? 0 };
}

const latency = fc.oneof(
  fc.nat({ max: 400 }),
  fc.integer({ min: 60_000, max: 200_000 }),
  fc.double({ min: -5, max: 500, noNaN: true }),
  fc.constantFrom(0, 65_535, 65_536, 1e300, Infinity),
);

describe("Latencies", () => {
  it("gives the exact nearest-rank percentiles of whole, fractional, negative and huge values", () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 300 }), (values) => {
        const l = new Latencies();
        for (const v of values) l.push(v);
        // +0 and -0 print alike; the counts keep one of them.
        expect(JSON.stringify(l.percentiles())).toBe(JSON.stringify(bySorting(values)));
      }),
    );
  });

  it("merges two sets into the set of all their values", () => {
    fc.assert(
      fc.property(fc.array(latency, { maxLength: 100 }), fc.array(latency, { maxLength: 100 }), (a, b) => {
        const left = new Latencies();
        const right = new Latencies();
        for (const v of a) left.push(v);
        for (const v of b) right.push(v);
        left.merge(structuredClone(right.counts()));
        expect(JSON.stringify(left.percentiles())).toBe(JSON.stringify(bySorting([...a, ...b])));
      }),
    );
  });
});

describe("Latencies with weights (sampled request lines)", () => {
  const weighted = fc.array(fc.tuple(latency, fc.integer({ min: 1, max: 5 })), { maxLength: 100 });

  it("with whole weights, gives exactly the percentiles of the list with each value repeated weight times", () => {
    fc.assert(
      fc.property(weighted, (pairs) => {
        const l = new Latencies();
        for (const [v, w] of pairs) l.push(v, w);
        expect(JSON.stringify(l.percentiles())).toBe(JSON.stringify(bySorting(pairs.flatMap(([v, w]) => Array.from({ length: w }, () => v)))));
      }),
    );
  });

  /** The smallest value whose cumulative weight reaches p% of the total, by sorting. */
  function weightedRank(pairs: [number, number][], p: number): number {
    const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
    const total = sorted.reduce((n, [, w]) => n + w, 0);
    let seen = 0;
    for (const [v, w] of sorted) {
      seen += w;
      if (seen >= (p / 100) * total) return v;
    }
    return sorted.at(-1)?.[0] ?? 0;
  }

  it("with fractional weights, gives the smallest value whose cumulative weight reaches p% of the total", () => {
    // Weights whose sums are exact in binary, so the property holds to the last bit; 1/p for p = 0.3 is not, and
    // can then fall either way at a boundary (the module's comment says so).
    const fractional = fc.array(fc.tuple(fc.nat({ max: 400 }), fc.constantFrom(1, 1.5, 2.25, 4, 1.125)), { minLength: 1, maxLength: 100 });
    fc.assert(
      fc.property(fractional, (pairs) => {
        const l = new Latencies();
        for (const [v, w] of pairs) l.push(v, w);
        const got = l.percentiles();
        expect(got).toEqual({ p50: weightedRank(pairs, 50), p95: weightedRank(pairs, 95), p99: weightedRank(pairs, 99), max: Math.max(...pairs.map(([v]) => v)) });
      }),
    );
  });

  it("is not the unweighted answer: nine sampled fast lines of weight 100 outweigh ten slow failures", () => {
    const l = new Latencies();
    for (let i = 0; i < 9; i++) l.push(5, 100);
    for (let i = 0; i < 10; i++) l.push(900, 1);
    // 910 requests: 900 at 5 ms, 10 at 900 ms. p99's rank is 901 of 910: still 900 ms; p95 (865) is 5 ms.
    expect(l.percentiles()).toEqual({ p50: 5, p95: 5, p99: 900, max: 900 });
  });

  it("merges weighted sets, fractional ones included, into the set of all their values", () => {
    const a = new Latencies();
    const b = new Latencies();
    a.push(10, 1 / 0.3);
    b.push(20, 1);
    b.push(30, 2);
    a.merge(structuredClone(b.counts()));
    expect(a.count).toBeCloseTo(1 / 0.3 + 3, 12);
    expect(a.percentiles()).toEqual({ p50: 10, p95: 30, p99: 30, max: 30 });
  });
});
