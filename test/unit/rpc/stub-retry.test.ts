import { describe, expect, it } from "vitest";
import { fullJitterDelayMs, isRetryableStubError, STUB_RETRY, withStubRetry, type StubRetryOptions } from "../../../src/core/rpc/stub-retry.js";

const errorWith = (flags: { retryable?: unknown; overloaded?: unknown }) => Object.assign(new Error("rpc failed"), flags);

function harness(randoms: number[] = [0.5]) {
  const sleeps: number[] = [];
  let i = 0;
  const opts: StubRetryOptions = {
    ...STUB_RETRY,
    random: () => randoms[i++ % randoms.length] ?? 0,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return { opts, sleeps };
}

describe("isRetryableStubError", () => {
  it("retries only retryable errors that are not overloaded", () => {
    expect(isRetryableStubError(errorWith({ retryable: true }))).toBe(true);
    expect(isRetryableStubError(errorWith({ retryable: true, overloaded: false }))).toBe(true);
    expect(isRetryableStubError(errorWith({ retryable: true, overloaded: true }))).toBe(false);
    expect(isRetryableStubError(errorWith({}))).toBe(false);
    expect(isRetryableStubError(errorWith({ retryable: "true" }))).toBe(false);
    expect(isRetryableStubError("retryable")).toBe(false);
    expect(isRetryableStubError(null)).toBe(false);
  });
});

describe("fullJitterDelayMs", () => {
  it("is uniform below min(max, base * 2^retry)", () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(fullJitterDelayMs(0, { ...o, random: () => 0 })).toBe(0);
    expect(fullJitterDelayMs(0, { ...o, random: () => 0.999 })).toBe(99);
    expect(fullJitterDelayMs(2, { ...o, random: () => 0.5 })).toBe(200);
    expect(fullJitterDelayMs(10, { ...o, random: () => 0.5 })).toBe(500);
  });
});

describe("withStubRetry", () => {
  it("returns the first success without sleeping", async () => {
    const { opts, sleeps } = harness();
    expect(await withStubRetry(async (attempt) => `ok ${attempt}`, opts)).toBe("ok 0");
    expect(sleeps).toEqual([]);
  });

  it("retries a retryable error once, after a jittered sleep, and passes the attempt number (for a fresh stub)", async () => {
    const { opts, sleeps } = harness([0.25]);
    const attempts: number[] = [];
    const result = await withStubRetry(async (attempt) => {
      attempts.push(attempt);
      if (attempt === 0) throw errorWith({ retryable: true });
      return "second";
    }, opts);
    expect(result).toBe("second");
    expect(attempts).toEqual([0, 1]);
    expect(sleeps).toEqual([25]);
  });

  it("gives up after the configured attempts with the last error", async () => {
    const { opts, sleeps } = harness();
    let calls = 0;
    const last = errorWith({ retryable: true });
    await expect(
      withStubRetry(async () => {
        calls++;
        throw calls === STUB_RETRY.attempts ? last : errorWith({ retryable: true });
      }, opts),
    ).rejects.toBe(last);
    expect(calls).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it("does not retry an overloaded or a non-retryable error", async () => {
    for (const err of [errorWith({ retryable: true, overloaded: true }), errorWith({}), new TypeError("bug")]) {
      const { opts, sleeps } = harness();
      let calls = 0;
      await expect(
        withStubRetry(async () => {
          calls++;
          throw err;
        }, opts),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
      expect(sleeps).toEqual([]);
    }
  });
});
