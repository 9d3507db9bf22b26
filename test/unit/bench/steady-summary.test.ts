import { describe, expect, it } from "vitest";
import { pairedMedian, summarizeSteady, type Sample } from "../../../scripts/bench/analysis/steady.mjs";
import { defined } from "../defined.js";

function sample(rps: number, cpuUsPerRequest: number, p50 = 1): Sample {
  return { rps, p50, p99: p50 * 5, errors: 0, cpuUsPerRequest, sutCpuPercent: 100 };
}

const rows = [
  { id: "passthrough", label: "pass-through Worker" },
  { id: "snapshot", label: "mesh, snapshot mode" },
];

describe("summarizeSteady", () => {
  it("pairs each round with the baseline's run in the same round, then takes the median", () => {
    // Round 3 is noisy for the baseline only. The ratio of the medians would
    // say 1,500 / 2,000 = 0.75; the per-round ratios are 0.8, 0.7 and 0.5,
    // whose median is 0.7.
    const out = summarizeSteady(
      rows,
      {
        passthrough: {
          throughput: [sample(2_000, 400), sample(1_000, 800), sample(3_000, 300)],
          latency: [sample(0, 0, 0.5), sample(0, 0, 0.9), sample(0, 0, 0.5)],
        },
        snapshot: {
          throughput: [sample(1_600, 500), sample(700, 1_000), sample(1_500, 500)],
          latency: [sample(0, 0, 0.6), sample(0, 0, 1.2), sample(0, 0, 0.58)],
        },
      },
      "passthrough",
    );
    const snap = defined(out.find((r) => r.id === "snapshot"));
    expect(snap.rpsVsPassthrough).toBe(0.7);
    expect(snap.throughput.rps).toBe(1_500);
    expect(snap.throughput.rpsRounds).toEqual([1_600, 700, 1_500]);
    // CPU ratios 1.25, 1.25, 1.667 and CPU added 100, 200, 200 per round.
    expect(snap.cpuVsPassthrough).toBe(1.25);
    expect(snap.cpuAddedUsPerRequest).toBe(200);
    // p50 added 0.1, 0.3, 0.08 per round.
    expect(snap.p50AddedMs).toBe(0.1);
    const base = defined(out.find((r) => r.id === "passthrough"));
    expect(base.rpsVsPassthrough).toBe(1);
    expect(base.cpuAddedUsPerRequest).toBe(0);
  });

  it("counts errors over every round and keeps row-specific figures on their rows only", () => {
    const withExtras = (s: Sample): Sample => ({ ...s, errors: 2, rpcsPer1000: 3, logLinesPerRequest: 1 });
    const out = summarizeSteady(
      [...rows, { id: "strict", label: "mesh, strict mode" }],
      {
        passthrough: { throughput: [sample(2_000, 400)], latency: [sample(0, 0)] },
        snapshot: { throughput: [withExtras(sample(1_500, 500))], latency: [sample(0, 0)] },
        strict: { throughput: [withExtras(sample(1_200, 600)), withExtras(sample(1_300, 600))], latency: [sample(0, 0)] },
      },
      "passthrough",
    );
    const strict = defined(out.find((r) => r.id === "strict"));
    expect(strict.throughput.errors).toBe(4);
    expect(strict.throughput.rpcsPer1000).toBe(3);
    expect(strict.throughput.logLinesPerRequest).toBeUndefined();
    // Round 2 has no baseline run to pair with, so only round 1 counts.
    expect(strict.rpsVsPassthrough).toBe(0.6);
    expect(defined(out.find((r) => r.id === "snapshot")).throughput.rpcsPer1000).toBeUndefined();
  });

  it("refuses samples without the baseline row", () => {
    expect(() => summarizeSteady(rows, { snapshot: { throughput: [], latency: [] } }, "passthrough")).toThrow(/baseline/);
  });
});

describe("pairedMedian", () => {
  const samples = {
    handrolled: { throughput: [sample(2_000, 400), sample(1_000, 800)], latency: [] },
    snapshot: { throughput: [sample(1_800, 450), sample(900, 900), sample(5_000, 100)], latency: [] },
  };

  it("compares a row with any reference row round by round", () => {
    expect(pairedMedian(samples, "snapshot", "handrolled", "throughput", (x, ref) => x.rps / ref.rps)).toBe(0.9);
  });

  it("is null when no round pairs up, e.g. the reference row did not run", () => {
    expect(pairedMedian(samples, "snapshot", "missing", "throughput", (x, ref) => x.rps / ref.rps)).toBeNull();
    expect(pairedMedian(samples, "snapshot", "handrolled", "latency", (x, ref) => x.p50 - ref.p50)).toBeNull();
  });
});
