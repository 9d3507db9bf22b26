import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_MS, retryAfterMs } from "../../../src/core/flow/retry-after.js";

const NOW = Date.parse("2026-11-30T10:00:00Z");

describe("Retry-After", () => {
  it("reads delay-seconds", () => {
    expect(retryAfterMs("2", NOW)).toBe(2000);
    expect(retryAfterMs(" 120 ", NOW)).toBe(120_000);
  });

  it("reads an HTTP-date", () => {
    expect(retryAfterMs("Mon, 30 Nov 2026 10:00:30 GMT", NOW)).toBe(30_000);
  });

  it("caps a long wait at MAX_RETRY_AFTER_MS", () => {
    expect(retryAfterMs("86400", NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("99999999999999999999", NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("Wed, 30 Dec 2026 10:00:00 GMT", NOW)).toBe(MAX_RETRY_AFTER_MS);
  });

  it("ignores a missing, empty, zero, negative, past or unreadable value", () => {
    for (const v of [null, "", "0", "-5", "soon", "Mon, 30 Nov 2026 09:00:00 GMT"]) expect(retryAfterMs(v, NOW)).toBeNull();
  });
});
