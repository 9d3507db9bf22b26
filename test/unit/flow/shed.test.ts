import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isShed, shedPoint } from "../../../src/core/flow/shed.js";

function ip(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

describe("shedding by client IP", () => {
  it("sheds about shedPercent of clients, evenly over neighbouring addresses", () => {
    for (const percent of [10, 25, 50, 90]) {
      let shed = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) if (isShed("api", ip(i), percent)) shed++;
      expect(shed / n).toBeGreaterThan(percent / 100 - 0.02);
      expect(shed / n).toBeLessThan(percent / 100 + 0.02);
    }
  });

  it("sheds nobody at 0 and everybody at 100", () => {
    for (let i = 0; i < 1000; i++) {
      expect(isShed("api", ip(i), 0)).toBe(false);
      expect(isShed("api", ip(i), 100)).toBe(true);
    }
  });

  it("property: a client's answer is stable, and one shed at p is still shed at any higher p", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (addr, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(isShed("api", addr, low)).toBe(isShed("api", addr, low));
        if (isShed("api", addr, low)) expect(isShed("api", addr, high)).toBe(true);
        const point = shedPoint("api", addr);
        expect(point).toBeGreaterThanOrEqual(0);
        expect(point).toBeLessThan(100);
      }),
    );
  });

  it("sheds different clients for different services", () => {
    let same = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) if (isShed("a", ip(i), 50) === isShed("b", ip(i), 50)) same++;
    // Independent halves agree about half the time; the same hash would agree always.
    expect(same / n).toBeLessThan(0.6);
  });
});
