import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../src/core/rate-limit/token-bucket.js";

const T0 = 1_700_000_000_000;
const LIMIT = { perSecond: 20, burst: 40 };

describe("RateLimiter", () => {
  it("lets a burst through, then refuses with the wait for the next token", () => {
    const l = new RateLimiter();
    for (let i = 0; i < 40; i++) expect(l.take("k", LIMIT, T0)).toEqual({ ok: true });
    expect(l.take("k", LIMIT, T0)).toEqual({ ok: false, retryAfterMs: 50 });
    expect(l.take("k", LIMIT, T0 + 25)).toEqual({ ok: false, retryAfterMs: 25 });
    expect(l.take("k", LIMIT, T0 + 50)).toEqual({ ok: true });
  });

  it("refills at perSecond up to the burst, never beyond", () => {
    const l = new RateLimiter();
    for (let i = 0; i < 40; i++) l.take("k", LIMIT, T0);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (l.take("k", LIMIT, T0 + 1_000).ok) ok++;
    expect(ok).toBe(20);
    let later = 0;
    for (let i = 0; i < 100; i++) if (l.take("k", LIMIT, T0 + 3_600_000).ok) later++;
    expect(later).toBe(40);
  });

  it("keeps keys apart, and peek takes nothing", () => {
    const l = new RateLimiter();
    for (let i = 0; i < 40; i++) l.take("a", LIMIT, T0);
    expect(l.peek("a", LIMIT, T0).ok).toBe(false);
    expect(l.peek("b", LIMIT, T0)).toEqual({ ok: true });
    for (let i = 0; i < 10; i++) expect(l.peek("b", LIMIT, T0)).toEqual({ ok: true });
    for (let i = 0; i < 40; i++) expect(l.take("b", LIMIT, T0).ok).toBe(true);
  });

  it("refills nothing when the clock goes back, and counts on from the earlier time", () => {
    const l = new RateLimiter();
    for (let i = 0; i < 40; i++) l.take("k", LIMIT, T0);
    expect(l.take("k", LIMIT, T0 - 60_000).ok).toBe(false);
    expect(l.take("k", LIMIT, T0 - 59_950).ok).toBe(true);
    expect(l.take("k", LIMIT, T0 - 59_950).ok).toBe(false);
  });

  it("holds at most maxBuckets keys, forgetting the least recently used", () => {
    const l = new RateLimiter(3);
    for (const k of ["a", "b", "c"]) for (let i = 0; i < 40; i++) l.take(k, LIMIT, T0);
    l.take("a", LIMIT, T0); // a is now the most recently used
    l.take("d", LIMIT, T0);
    expect(l.size).toBe(3);
    // b was forgotten: it starts again with a full bucket; a and c are still empty.
    expect(l.peek("b", LIMIT, T0).ok).toBe(true);
    expect(l.peek("a", LIMIT, T0).ok).toBe(false);
    expect(l.peek("c", LIMIT, T0).ok).toBe(false);
  });
});
