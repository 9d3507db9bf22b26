import { describe, expect, it } from "vitest";
import { backoffMs, MAX_RETRY_AFTER_MS, retryAfterMs, START_RETRY, transientStatus } from "../../../scripts/lib/start-retry.mjs";

describe("start retry (scripts/lib/start-retry.mjs)", () => {
  it("draws below a ceiling that doubles per attempt and stops at maxDelayMs", () => {
    const retry = { deadlineMs: 60_000, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([0, 1, 2, 3, 4, 40].map((a) => backoffMs(a, retry, 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffMs(3, retry, 0)).toBe(0);
    expect(backoffMs(3, retry, 0.5)).toBe(400);
    expect(backoffMs(0, START_RETRY, 0.5)).toBe(125);
  });

  it("retries 429 and 5xx, not other answers", () => {
    expect([429, 500, 502, 503, 504].every(transientStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413].some(transientStatus)).toBe(false);
  });

  it("reads Retry-After as seconds or an HTTP-date, and nothing else", () => {
    const now = Date.parse("2026-12-01T00:00:00Z");
    expect(retryAfterMs("3", now)).toBe(3_000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Tue, 01 Dec 2026 00:00:05 GMT", now)).toBe(5_000);
    expect(retryAfterMs("Mon, 30 Nov 2026 23:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeNull();
    expect(retryAfterMs("-1", now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe("Retry-After (scripts/lib/start-retry.mjs, RFC 9110 §10.2.3)", () => {
  const now = Date.parse("2026-12-01T00:00:00Z");

  it("reads all three HTTP-date forms", () => {
    expect(retryAfterMs("Tue, 01 Dec 2026 00:00:05 GMT", now)).toBe(5_000);
    expect(retryAfterMs("Tuesday, 01-Dec-26 00:00:05 GMT", now)).toBe(5_000);
    expect(retryAfterMs("Tue Dec  1 00:00:05 2026", now)).toBe(5_000);
    // A leap second is the next minute's first.
    expect(retryAfterMs("Tue, 01 Dec 2026 00:00:60 GMT", now)).toBe(60_000);
    // rfc850's two-digit year: more than 50 years ahead is the century before.
    expect(retryAfterMs("Tuesday, 01-Dec-76 00:00:00 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("Thursday, 01-Dec-77 00:00:00 GMT", now)).toBe(0);
  });

  it("is null for anything that is neither delay-seconds nor an HTTP-date", () => {
    for (const v of ["", "soon", "Soon 2099", "Thu, 01 Jan 2099", "Tue, 31 Feb 2099 10:00:00 GMT", "Wed, 99 Foo 2026", "Tue, 01 Dec 2026 24:00:00 GMT",
      "tue, 01 Dec 2026 00:00:05 GMT", "Tue, 01 Dec 2026 00:00:05 PST", "2026-12-01T00:00:05Z", "-1", "1.5", "1e3", "Infinity", "0x10"]) {
      expect(retryAfterMs(v, now), v).toBeNull();
    }
  });

  it("caps every wait at MAX_RETRY_AFTER_MS, whatever its size", () => {
    expect(MAX_RETRY_AFTER_MS).toBe(300_000);
    expect(retryAfterMs("300", now)).toBe(300_000);
    expect(retryAfterMs("301", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("9".repeat(400), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("Fri, 31 Dec 9999 23:59:59 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
  });
});
