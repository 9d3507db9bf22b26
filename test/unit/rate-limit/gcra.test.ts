import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DenyCache } from "../../../src/core/rate-limit/deny-cache.js";
import { GcraStore, gcraTake, type RateRule } from "../../../src/core/rate-limit/gcra.js";
import { RateLimiter } from "../../../src/core/rate-limit/token-bucket.js";

const T0 = 1_700_000_000_000;
const RULE: RateRule = { ratePerSecond: 20, burst: 40 };

describe("gcraTake: arithmetic with an injected clock", () => {
  it("admits a fresh key's burst, then refuses with the wait for the next token", () => {
    const s = new GcraStore();
    for (let i = 0; i < 40; i++) {
      const d = s.take("k", RULE, T0);
      expect(d.allowed).toBe(true);
      expect(d.remaining).toBe(39 - i);
    }
    expect(s.take("k", RULE, T0)).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 50 });
    expect(s.take("k", RULE, T0 + 25)).toMatchObject({ allowed: false, retryAfterMs: 25 });
    expect(s.take("k", RULE, T0 + 50)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("tells an admitted request that took the last token when the next one comes", () => {
    const one = { ratePerSecond: 4, burst: 1 };
    expect(gcraTake(undefined, one, T0)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 250, tat: T0 + 250 });
    expect(gcraTake(T0 + 250, one, T0 + 100)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 150, tat: T0 + 250 });
  });

  it("refills at ratePerSecond up to the burst, never beyond", () => {
    const s = new GcraStore();
    for (let i = 0; i < 40; i++) s.take("k", RULE, T0);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (s.take("k", RULE, T0 + 1_000).allowed) ok++;
    expect(ok).toBe(20);
    let later = 0;
    for (let i = 0; i < 100; i++) if (s.take("k", RULE, T0 + 3_600_000).allowed) later++;
    expect(later).toBe(40);
  });

  it("reads a clock that went back as an empty bucket, not a lock-out", () => {
    const s = new GcraStore();
    for (let i = 0; i < 40; i++) s.take("k", RULE, T0);
    const back = T0 - 60_000;
    expect(s.take("k", RULE, back)).toMatchObject({ allowed: false, retryAfterMs: 50 });
    expect(s.take("k", RULE, back + 50).allowed).toBe(true);
  });

  it("keeps keys apart and forgets the least recently used beyond its bound", () => {
    const s = new GcraStore(2);
    const one = { ratePerSecond: 1, burst: 1 };
    expect(s.take("a", one, T0).allowed).toBe(true);
    expect(s.take("b", one, T0).allowed).toBe(true);
    expect(s.take("a", one, T0).allowed).toBe(false);
    expect(s.take("c", one, T0).allowed).toBe(true); // evicts a (b was used after a's last admitted take)
    expect(s.size).toBe(2);
    expect(s.take("b", one, T0).allowed).toBe(false);
    expect(s.take("a", one, T0).allowed).toBe(true);
  });
});

const ruleArb = fc.record({
  ratePerSecond: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0.01, max: 500, noNaN: true })),
  burst: fc.integer({ min: 1, max: 50 }),
});
const slowRuleArb = fc.record({ ratePerSecond: fc.double({ min: 0.5, max: 100, noNaN: true }), burst: fc.integer({ min: 1, max: 50 }) });
const gapsArb = fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 });

function admittedTimes(rule: RateRule, gaps: readonly number[]): number[] {
  const s = new GcraStore();
  const admitted: number[] = [];
  let now = T0;
  for (const g of gaps) {
    now += g;
    if (s.take("k", rule, now).allowed) admitted.push(now);
  }
  return admitted;
}

describe("gcraTake: properties (fast-check)", () => {
  it("never admits more than burst + rate × t in any window of length t", () => {
    fc.assert(
      fc.property(ruleArb, gapsArb, (rule, gaps) => {
        const at = admittedTimes(rule, gaps);
        for (let i = 0; i < at.length; i++) {
          for (let j = i; j < at.length; j++) {
            const t = ((at[j] ?? 0) - (at[i] ?? 0)) / 1000;
            // 1e-6: float error in the interval sums, far below one request.
            expect(j - i + 1).toBeLessThanOrEqual(rule.burst + rule.ratePerSecond * t + 1e-6);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("under constant overload admits at least burst + rate × t − 1: the limit is not stricter than configured", () => {
    fc.assert(
      fc.property(slowRuleArb, fc.integer({ min: 1, max: 5 }), (rule, seconds) => {
        // A request every 10 µs: far above any rate here, so the bucket decides everything. Each
        // admission can come up to one step after its token, hence the (1 − step / interval) factor.
        const s = new GcraStore();
        const step = 0.01;
        let admitted = 0;
        for (let i = 0; i <= (seconds * 1000) / step; i++) if (s.take("k", rule, T0 + i * step).allowed) admitted++;
        const lag = 1 - (step * rule.ratePerSecond) / 1000;
        expect(admitted).toBeGreaterThanOrEqual(rule.burst + Math.floor(rule.ratePerSecond * seconds * lag) - 1);
        expect(admitted).toBeLessThanOrEqual(rule.burst + rule.ratePerSecond * seconds + 1e-6);
      }),
      { numRuns: 25 },
    );
  });

  it("agrees with the token bucket on a request that arrives exactly when its token is due (float sums)", () => {
    // A counterexample the property below found: 5/s, burst 2, arrivals at +0, +3, +396, +1, +0 ms.
    const gcra = new GcraStore();
    const bucket = new RateLimiter();
    let now = T0;
    for (const g of [0, 3, 396, 1, 0]) {
      now += g;
      expect(gcra.take("k", { ratePerSecond: 5, burst: 2 }, now).allowed).toBe(bucket.take("k", { perSecond: 5, burst: 2 }, now).ok);
    }
  });

  it("decides like the control plane's token bucket (token-bucket.ts) on any arrival sequence", () => {
    // Rates whose interval is a whole number of ms, so both sides compute without rounding.
    const rateArb = fc.constantFrom(1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 125, 200, 250, 500, 1000);
    fc.assert(
      fc.property(rateArb, fc.integer({ min: 1, max: 30 }), gapsArb, (ratePerSecond, burst, gaps) => {
        const gcra = new GcraStore();
        const bucket = new RateLimiter();
        let now = T0;
        for (const g of gaps) {
          now += g;
          const a = gcra.take("k", { ratePerSecond, burst }, now);
          const b = bucket.take("k", { perSecond: ratePerSecond, burst }, now);
          expect(a.allowed).toBe(b.ok);
          // The bucket rounds float token sums up to whole ms; GCRA's wait is exact here.
          if (!b.ok) expect(Math.abs(a.retryAfterMs - b.retryAfterMs)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a refused answer's retryAfterMs is when the next request is admitted (to the clock's float resolution)", () => {
    // The same arrivals replayed into a fresh store, so each probe meets the state the refusal saw.
    const replay = (rule: RateRule, gaps: readonly number[]): { s: GcraStore; now: number } => {
      const s = new GcraStore();
      let now = T0;
      for (const g of gaps) {
        now += g;
        s.take("k", rule, now);
      }
      return { s, now };
    };
    fc.assert(
      fc.property(ruleArb, gapsArb, (rule, gaps) => {
        const { s, now } = replay(rule, gaps);
        const d = s.take("k", rule, now);
        if (d.allowed) return;
        // Near 1.7e12 ms a float time is only good to 2^-12 ms; 1 µs covers the sum now + retryAfterMs.
        expect(replay(rule, gaps).s.take("k", rule, now + d.retryAfterMs + 0.001).allowed).toBe(true);
        expect(replay(rule, gaps).s.take("k", rule, now + d.retryAfterMs - 0.5).allowed).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Rates up to the schema's 1,000,000/s (isolate scope): an interval of a microsecond or two, which a
 * clock reading near 1.7e12 ms cannot hold (its float spacing is 2^-12 ms, a quarter of 1 µs).
 */
describe("GcraStore at the highest configurable rates", () => {
  const fastRuleArb = fc.record({
    ratePerSecond: fc.oneof(fc.constantFrom(1_000_000, 910_222, 500_000, 123_456), fc.double({ min: 10_000, max: 1_000_000, noNaN: true })),
    burst: fc.integer({ min: 1, max: 2_000 }),
  });

  it("admits exactly burst at one instant at 1,000,000/s, not the 1,024 a rounded interval lets through", () => {
    const s = new GcraStore();
    const rule = { ratePerSecond: 1_000_000, burst: 1_000 };
    let admitted = 0;
    for (let i = 0; i < 2_000; i++) if (s.take("k", rule, T0).allowed) admitted++;
    expect(admitted).toBe(1_000);
  });

  it("admits burst + rate × t over 100 ms of overload, fewer only by what a full bucket cannot hold (fast-check)", () => {
    fc.assert(
      fc.property(fastRuleArb, (rule) => {
        const s = new GcraStore();
        let admitted = 0;
        // Overload every ms for 100 ms, starting from a full bucket: the bucket alone decides.
        for (let t = 0; t <= 100; t++) {
          for (;;) {
            if (!s.take("k", rule, T0 + t).allowed) break;
            admitted++;
          }
        }
        // Each ms refills r = rate / 1000 tokens, but never past a full bucket: never more than this.
        const r = rule.ratePerSecond / 1000;
        const most = rule.burst + 100 * Math.min(rule.burst, r);
        // Each ms's overload leaves under one token behind. While r ≤ burst − 1, that fraction plus the
        // next ms's refill still fits in the bucket, so nothing is lost and `most` is reached (less the
        // last fraction). Above that, the cap drops the part of the fraction that does not fit, so a ms
        // is only sure of admitting floor(min(r, burst)): a refill of 123.456 into a bucket of 124 holding
        // 0.9 keeps 124, not 124.356.
        const least = r > rule.burst - 1 ? rule.burst + 100 * Math.floor(Math.min(r, rule.burst)) : Math.floor(most);
        expect(admitted).toBeLessThanOrEqual(most + 1e-6);
        expect(admitted).toBeGreaterThanOrEqual(least - 1);
      }),
      { numRuns: 40 },
    );
  });
});

describe("DenyCache", () => {
  it("answers over-for until T, then forgets the key", () => {
    const c = new DenyCache();
    expect(c.overFor("k", T0)).toBe(0);
    c.markOver("k", 300, T0);
    expect(c.overFor("k", T0 + 100)).toBe(200);
    expect(c.overFor("k", T0 + 300)).toBe(0);
    expect(c.size).toBe(0);
  });

  it("ignores a non-positive wait and stays within its bound", () => {
    const c = new DenyCache(2);
    c.markOver("z", 0, T0);
    c.markOver("n", Number.NaN, T0);
    expect(c.size).toBe(0);
    for (const k of ["a", "b", "c"]) c.markOver(k, 1000, T0);
    expect(c.size).toBe(2);
    expect(c.overFor("a", T0)).toBe(0);
    expect(c.overFor("c", T0)).toBe(1000);
  });
});
