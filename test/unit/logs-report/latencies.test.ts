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
