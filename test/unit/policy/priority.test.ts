import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chooseLevel, levelHealth, priorityLoads, type LevelCount } from "../../../src/core/policy/priority.js";

describe("levelHealth (Envoy: healthy share × 1.4, whole percent, capped at 100)", () => {
  it.each([
    [100, 100],
    [72, 100],
    [71, 99],
    [50, 70],
    [25, 35],
    [0, 0],
  ])("%i of 100 healthy → %i", (healthy, health) => {
    expect(levelHealth({ healthy, total: 100 })).toBe(health);
  });

  it("is 0 for an empty level", () => {
    expect(levelHealth({ healthy: 0, total: 0 })).toBe(0);
  });
});

describe("priorityLoads", () => {
  // The examples of Envoy's priority-level documentation, with P=1 fully healthy.
  it.each([
    [100, [100, 0]],
    [72, [100, 0]],
    [71, [99, 1]],
    [50, [70, 30]],
    [25, [35, 65]],
    [0, [0, 100]],
  ])("P0 %i %% healthy → %j", (healthy, loads) => {
    expect(priorityLoads([{ healthy, total: 100 }, { healthy: 10, total: 10 }])).toEqual(loads);
  });

  it("scales up when the levels' health adds up to less than 100 (20 % + 20 % healthy → 50 / 50)", () => {
    expect(priorityLoads([{ healthy: 2, total: 10 }, { healthy: 2, total: 10 }])).toEqual([50, 50]);
  });

  it("spills past a dead level to the next one with health", () => {
    expect(priorityLoads([{ healthy: 0, total: 3 }, { healthy: 0, total: 2 }, { healthy: 4, total: 4 }])).toEqual([0, 0, 100]);
  });

  it("is all zeros when nothing is healthy", () => {
    expect(priorityLoads([{ healthy: 0, total: 3 }, { healthy: 0, total: 1 }])).toEqual([0, 0]);
  });

  const levelsArb = fc.array(
    fc.integer({ min: 1, max: 50 }).chain((total) => fc.record({ total: fc.constant(total), healthy: fc.integer({ min: 0, max: total }) })),
    { minLength: 1, maxLength: 6 },
  );

  it("property: adds up to 100 when any level has health, a level without health gets nothing", () => {
    fc.assert(
      fc.property(levelsArb, (levels: LevelCount[]) => {
        const loads = priorityLoads(levels);
        const health = levels.map(levelHealth);
        const anyHealth = health.some((h) => h > 0);
        expect(loads.reduce((a, b) => a + b, 0)).toBe(anyHealth ? 100 : 0);
        health.forEach((h, i) => {
          if (h === 0) expect(loads[i]).toBe(0);
        });
      }),
    );
  });

  it("property: with total health ≥ 100, each level takes its health, capped by what the levels above it left (Envoy's rule)", () => {
    fc.assert(
      fc.property(levelsArb, (levels: LevelCount[]) => {
        const health = levels.map(levelHealth);
        fc.pre(health.reduce((a, b) => a + b, 0) >= 100);
        const loads = priorityLoads(levels);
        let left = 100;
        health.forEach((h, i) => {
          expect(loads[i]).toBe(Math.min(h, left));
          left -= Math.min(h, left);
        });
      }),
    );
  });

  it("property: with total health under 100, loads are the healths scaled to 100, within rounding", () => {
    fc.assert(
      fc.property(levelsArb, (levels: LevelCount[]) => {
        const health = levels.map(levelHealth);
        const sum = health.reduce((a, b) => a + b, 0);
        fc.pre(sum > 0 && sum < 100);
        const loads = priorityLoads(levels);
        health.forEach((h, i) => {
          // Rounding leaves at most one percent per level, all given to the first level with health.
          expect(Math.abs((loads[i] ?? 0) - (h * 100) / sum)).toBeLessThanOrEqual(levels.length);
        });
      }),
    );
  });
});

describe("chooseLevel", () => {
  it("property: over evenly spread draws, each level's share is its load", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 5 }), (raw) => {
        const sum = raw.reduce((a, b) => a + b, 0);
        fc.pre(sum > 0);
        // Make the loads add up to 100, as priorityLoads' do.
        const loads = raw.map((r) => Math.floor((r * 100) / sum));
        const first = loads.findIndex((l) => l > 0);
        loads[first === -1 ? 0 : first] = (loads[first === -1 ? 0 : first] ?? 0) + 100 - loads.reduce((a, b) => a + b, 0);
        const counts = loads.map(() => 0);
        const draws = 10_000;
        for (let k = 0; k < draws; k++) {
          const level = chooseLevel(loads, (k + 0.5) / draws);
          counts[level] = (counts[level] ?? 0) + 1;
        }
        loads.forEach((l, i) => expect(counts[i]).toBe((l * draws) / 100));
      }),
    );
  });

  it("is -1 when no level has load, and the last loaded level for a draw of almost 1", () => {
    expect(chooseLevel([0, 0], 0.3)).toBe(-1);
    expect(chooseLevel([40, 60, 0], 0.999999999)).toBe(1);
  });
});
