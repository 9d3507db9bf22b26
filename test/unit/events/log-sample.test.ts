import { describe, expect, it } from "vitest";
import { lineWeight, MIN_LOG_SAMPLE, parseLogSample, plainSuccess, type SampleFacts } from "../../../src/core/events/log-sample.js";
import { seededRandom } from "../seeded-random.js";

/** A plain success: one try, answered, 200. */
function facts(over: Partial<SampleFacts> = {}): SampleFacts {
  return { outcome: "ok", status: 200, outcomes: [{ ok: true }], budgetExhausted: false, fallbackFrom: null, ...over };
}

const never = (): number => {
  throw new Error("drew a random number for a line that is always written");
};

describe("REQUEST_LOG_SAMPLE: parsing", () => {
  it.each([
    [undefined, 1],
    ["1", 1],
    ["1.0", 1],
    ["0.5", 0.5],
    [" 0.01 ", 0.01],
    [".25", 0.25],
    ["0.000001", MIN_LOG_SAMPLE],
  ])("takes %j as %d", (raw, rate) => {
    expect(parseLogSample(raw)).toEqual({ rate, warning: null });
  });

  it.each(["", "   ", "abc", "0", "0.0", "-0.5", "1.5", "2", "NaN", "Infinity", "1e-2", "0x1", "50%", "0.0000001", "1/100"])(
    "refuses %j: every line, and a warning naming the var and the value",
    (raw) => {
      const parsed = parseLogSample(raw);
      expect(parsed.rate).toBe(1);
      expect(parsed.warning).toContain("REQUEST_LOG_SAMPLE");
      expect(parsed.warning).toContain(JSON.stringify(raw));
    },
  );
});

describe("REQUEST_LOG_SAMPLE: which lines are sampled", () => {
  it("samples only a plain success", () => {
    expect(plainSuccess(facts())).toBe(true);
    // An origin's own 4xx is its answer, relayed as ok.
    expect(plainSuccess(facts({ status: 404 }))).toBe(true);
  });

  it.each<[string, Partial<SampleFacts>]>([
    ["failed over", { outcome: "failed_over", outcomes: [{ ok: false }, { ok: true }] }],
    ["an origin's 5xx", { outcome: "upstream_error", status: 503, outcomes: [{ ok: false }] }],
    ["a 5xx counted ok", { status: 500 }],
    ["two tries", { outcomes: [{ ok: true }, { ok: true }] }],
    ["a failed try", { outcomes: [{ ok: false }] }],
    ["no try", { outcomes: [] }],
    ["retry budget exhausted", { budgetExhausted: true }],
    ["a fallback hop", { fallbackFrom: "primary" }],
    ["no route", { outcome: "no_route", status: 404, outcomes: [] }],
    ["rate limited", { outcome: "rate_limited", status: 429, outcomes: [] }],
    ["shed", { outcome: "shed", status: 503, outcomes: [] }],
    ["overloaded", { outcome: "overloaded", status: 503, outcomes: [] }],
    ["no healthy instance", { outcome: "no_healthy_instance", status: 503, outcomes: [] }],
    ["unauthorized", { outcome: "unauthorized", status: 401, outcomes: [] }],
    ["client error", { outcome: "client_error", status: 400, outcomes: [{ ok: false }] }],
    ["mesh error", { outcome: "mesh_error", status: 500 }],
  ])("always writes %s, with weight 1 and no draw, even at the smallest rate", (_, over) => {
    expect(plainSuccess(facts(over))).toBe(false);
    expect(lineWeight(MIN_LOG_SAMPLE, facts(over), never)).toBe(1);
  });

  it("writes a drawn success with weight 1/p, and skips the others", () => {
    expect(lineWeight(0.25, facts(), () => 0.2)).toBe(4);
    expect(lineWeight(0.25, facts(), () => 0.25)).toBe(0);
    expect(lineWeight(1, facts(), () => 0.999_999)).toBe(1);
  });

  it("keeps a share of successes close to p, so the weights add up to about the requests", () => {
    const random = seededRandom(42);
    const n = 100_000;
    let lines = 0;
    let weight = 0;
    for (let i = 0; i < n; i++) {
      const w = lineWeight(0.1, facts(), random);
      if (w > 0) lines++;
      weight += w;
    }
    // Binomial(100000, 0.1): sd ≈ 95; 6 sd either side.
    expect(Math.abs(lines - 10_000)).toBeLessThan(600);
    expect(weight).toBeCloseTo(lines * 10, 6);
  });
});
