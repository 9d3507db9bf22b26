import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INVOCATION_OPERATIONS, sliceSize, sweepOverhead, sweepSlice } from "../../src/core/sweep/slice.js";

const sorted = (names: string[]) => [...new Set(names)].sort();

describe("sweepSlice", () => {
  it("takes every name when they fit one run, and leaves no cursor", () => {
    expect(sweepSlice(["a", "b", "c"], null, 3)).toEqual({ indices: [0, 1, 2], nextFrom: null });
    expect(sweepSlice(["a", "b", "c"], "b", 5)).toEqual({ indices: [0, 1, 2], nextFrom: null });
  });

  it("goes on from the last run's cursor and wraps round", () => {
    const names = ["a", "b", "c", "d", "e"];
    const first = sweepSlice(names, null, 2);
    expect(first).toEqual({ indices: [0, 1], nextFrom: "c" });
    const second = sweepSlice(names, first.nextFrom, 2);
    expect(second).toEqual({ indices: [2, 3], nextFrom: "e" });
    expect(sweepSlice(names, second.nextFrom, 2)).toEqual({ indices: [4, 0], nextFrom: "b" });
  });

  it("starts at the next name when the cursor's service was deleted, and at the first past the last name", () => {
    expect(sweepSlice(["a", "c", "d"], "b", 2)).toEqual({ indices: [1, 2], nextFrom: "a" });
    expect(sweepSlice(["a", "c", "d"], "z", 2)).toEqual({ indices: [0, 1], nextFrom: "d" });
  });

  it("sweeps every name within ⌈n / size⌉ runs, from any cursor, with no name twice in a run", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 20 }), fc.option(fc.string({ maxLength: 4 })), (raw, size, from) => {
        const names = sorted(raw);
        const runs = Math.ceil(names.length / size);
        const seen = new Set<number>();
        let cursor = from;
        for (let r = 0; r < runs; r++) {
          const slice = sweepSlice(names, cursor, size);
          expect(new Set(slice.indices).size).toBe(slice.indices.length);
          expect(slice.indices.length).toBe(Math.min(size, names.length));
          for (const i of slice.indices) seen.add(i);
          cursor = slice.nextFrom;
        }
        expect(seen.size).toBe(names.length);
      }),
    );
  });
});

describe("sliceSize", () => {
  it("keeps a run's RPCs and KV operations within one invocation's 1,000 while the reads leave room", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 89_000 }), fc.integer({ min: 1, max: 450 }), (n, max) => {
        const size = sliceSize(n, max);
        expect(size).toBeGreaterThanOrEqual(1);
        expect(size).toBeLessThanOrEqual(max);
        expect(2 * size + sweepOverhead(n)).toBeLessThanOrEqual(INVOCATION_OPERATIONS);
      }),
    );
  });

  it("is the whole 450 up to about 9,000 services, then shrinks; never below one", () => {
    expect(sliceSize(1_000, 450)).toBe(450);
    expect(sliceSize(8_800, 450)).toBe(450);
    expect(sliceSize(10_000, 450)).toBe(443);
    expect(sliceSize(50_000, 450)).toBe(223);
    expect(sliceSize(200_000, 450)).toBe(1);
  });
});
