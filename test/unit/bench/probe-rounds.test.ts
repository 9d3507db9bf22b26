import { describe, expect, it } from "vitest";
import { cpuBetween, splitRounds } from "../../../scripts/bench/analysis/probe-rounds.mjs";

const probe = (t: number, i: number): [number, string] => [t, `/i/${i}/healthz`];

describe("splitRounds", () => {
  it("splits bursts separated by more than the gap, in time order", () => {
    const rounds = splitRounds([probe(5_010, 1), probe(10, 0), probe(5_000, 0), probe(20, 1)], 2);
    expect(rounds).toEqual([
      { first: 10, last: 20, count: 2, complete: true },
      { first: 5_000, last: 5_010, count: 2, complete: true },
    ]);
  });

  it("marks a round that did not probe every instance as incomplete", () => {
    const rounds = splitRounds([probe(0, 0), probe(5_000, 0), probe(5_001, 1), probe(5_002, 2)], 3);
    expect(rounds.map((r) => r.complete)).toEqual([false, true]);
  });

  it("starts a new round when an instance is probed again without a gap", () => {
    // A round slower than the interval runs into the next one: measured as one
    // burst, it would look twice as long.
    const probes: [number, string][] = [];
    for (let i = 0; i < 4; i++) probes.push(probe(i * 300, i));
    for (let i = 0; i < 4; i++) probes.push(probe(1_200 + i * 300, i));
    const rounds = splitRounds(probes, 4);
    expect(rounds).toEqual([
      { first: 0, last: 900, count: 4, complete: true },
      { first: 1_200, last: 2_100, count: 4, complete: true },
    ]);
  });

  it("returns no rounds for no probes", () => {
    expect(splitRounds([], 10)).toEqual([]);
  });
});

describe("cpuBetween", () => {
  const samples: [number, number][] = [
    [1_000, 500],
    [1_050, 520],
    [1_100, 600],
    [1_150, 610],
  ];

  it("is the difference of the last samples at or before each time", () => {
    expect(cpuBetween(samples, 1_050, 1_100)).toBe(80);
    expect(cpuBetween(samples, 1_060, 1_149)).toBe(80);
  });

  it("does not charge the process's whole life to a window that starts before the first sample", () => {
    expect(cpuBetween(samples, 0, 1_100)).toBe(100);
  });

  it("is 0 with no samples", () => {
    expect(cpuBetween([], 0, 10)).toBe(0);
  });
});
