import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../../../src/core/balance/index.js";
import { applyCheck, initialHealth } from "../../../src/core/health/health-machine.js";
import { rampWeights, SLOW_START_MIN_FACTOR, SLOW_START_MIN_STEP_MS, slowStartFactor } from "../../../src/core/policy/slow-start.js";
import { seededRandom } from "../seeded-random.js";
import { inst, T0 } from "./fixtures.js";

const WINDOW = 60_000;

describe("slowStartFactor", () => {
  it("ramps linearly from 10 % to 100 % over the window", () => {
    expect(slowStartFactor(T0, T0, WINDOW)).toBeCloseTo(0.1, 10);
    expect(slowStartFactor(T0, T0 + WINDOW / 2, WINDOW)).toBeCloseTo(0.55, 10);
    expect(slowStartFactor(T0, T0 + WINDOW, WINDOW)).toBe(1);
    expect(slowStartFactor(T0, T0 + 10 * WINDOW, WINDOW)).toBe(1);
    // A router clock behind the coordinator's reads as "just healthy", never below the floor.
    expect(slowStartFactor(T0, T0 - 5_000, WINDOW)).toBeCloseTo(SLOW_START_MIN_FACTOR, 10);
    expect(slowStartFactor(T0, T0, 0)).toBe(1);
  });

  it("is monotone, within [0.1, 1], and on the line 0.1 + 0.9·t/window (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: -10_000, max: 4_000_000 }), fc.nat(100_000), (windowMs, elapsed, more) => {
        const a = slowStartFactor(T0, T0 + elapsed, windowMs);
        const b = slowStartFactor(T0, T0 + elapsed + more, windowMs);
        expect(a).toBeGreaterThanOrEqual(SLOW_START_MIN_FACTOR - 1e-12);
        expect(a).toBeLessThanOrEqual(1);
        expect(b).toBeGreaterThanOrEqual(a);
        const expected = elapsed >= windowMs ? 1 : 0.1 + 0.9 * (Math.max(0, elapsed) / windowMs);
        expect(a).toBeCloseTo(expected, 9);
      }),
    );
  });
});

describe("rampWeights", () => {
  it("scales only the instances inside their window and says when to ramp again", () => {
    const fresh = inst("new", {}, { weight: 10, healthySince: T0 });
    const old = inst("old", {}, { weight: 10, healthySince: T0 - 2 * WINDOW });
    const unknown = inst("kv", {}, { weight: 4 });
    const ramp = rampWeights([fresh, old, unknown], WINDOW, T0 + WINDOW / 2);
    expect(ramp.list.map((i) => [i.id, i.weight])).toEqual([
      ["new", 5.5],
      ["old", 10],
      ["kv", 4],
    ]);
    // The untouched ones are the snapshot's own objects, not copies.
    expect(ramp.list[1]).toBe(old);
    expect(ramp.nextAt).toBe(T0 + WINDOW / 2 + WINDOW / 20);
  });

  it("hands back the very list when nothing ramps, with no further step", () => {
    const list = [inst("a", {}, { healthySince: T0 - WINDOW }), inst("b")];
    const ramp = rampWeights(list, WINDOW, T0);
    expect(ramp.list).toBe(list);
    expect(ramp.nextAt).toBe(Number.POSITIVE_INFINITY);
  });

  it("steps at least a second apart and never past the end of the last ramp", () => {
    const ramp = rampWeights([inst("a", {}, { healthySince: T0 })], 5_000, T0 + 4_500);
    expect(ramp.nextAt).toBe(T0 + 5_000);
    expect(rampWeights([inst("a", {}, { healthySince: T0 })], 5_000, T0).nextAt).toBe(T0 + SLOW_START_MIN_STEP_MS);
  });

  it("a weighted balancer gives a just-healthy instance about a tenth of its share, then all of it (fixed seed)", () => {
    const hosts = [inst("new", {}, { healthySince: T0 }), inst("b", {}, { healthySince: T0 - WINDOW })];
    const share = (now: number): number => {
      const list = rampWeights(hosts, WINDOW, now).list;
      const balancer = createBalancer("random", { random: seededRandom(7), now: () => now });
      let n = 0;
      for (let i = 0; i < 4_000; i++) if (balancer.pick(list)?.id === "new") n++;
      return n / 4_000;
    };
    // Weights 0.1 : 1 give 1/11 ≈ 0.091; at the end, 1 : 1.
    expect(share(T0)).toBeGreaterThan(0.07);
    expect(share(T0)).toBeLessThan(0.11);
    expect(share(T0 + WINDOW)).toBeGreaterThan(0.46);
    expect(share(T0 + WINDOW)).toBeLessThan(0.54);
  });
});

describe("healthySince", () => {
  it("is set when active checks bring an instance back, and kept while it stays healthy", () => {
    const config = { healthyThreshold: 2, unhealthyThreshold: 1 };
    let h = applyCheck(initialHealth(), { ok: false, detail: "HTTP 500" }, config, T0);
    expect(h.healthySince).toBeUndefined();
    h = applyCheck(h, { ok: true, detail: "HTTP 200" }, config, T0 + 1_000);
    expect(h.status).toBe("unhealthy");
    h = applyCheck(h, { ok: true, detail: "HTTP 200" }, config, T0 + 2_000);
    expect([h.status, h.healthySince]).toEqual(["healthy", T0 + 2_000]);
    h = applyCheck(h, { ok: true, detail: "HTTP 200" }, config, T0 + 3_000);
    expect(h.healthySince).toBe(T0 + 2_000);
  });
});
