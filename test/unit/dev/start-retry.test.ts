import { describe, expect, it } from "vitest";
import { backoffMs, retryAfterMs, START_RETRY, transientStatus } from "../../../scripts/lib/start-retry.mjs";

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
