import { describe, expect, it } from "vitest";
import { classifyFetchError, isIpLiteral } from "../../../src/core/retry/fetch-errors.js";

// The messages are workerd's own, as test/worker/router/router-fetch-errors.test.ts observes them in the runtime.
const LOST = "Network connection lost.";
const INTERNAL = "internal error; reference = upicjcn0hkqfvj1hqoeuls70";

describe("classifyFetchError", () => {
  it("classes workerd's internal error for a named host (DNS, TLS) as a connect failure", () => {
    expect(classifyFetchError({ message: INTERNAL, retryable: undefined, hostname: "no-such-host.invalid" })).toEqual({ kind: "connect-failure" });
  });

  it("never classes a lost connection as a connect failure, whatever the hostname: a reset may follow a sent request", () => {
    for (const hostname of ["origin-1.example.com", "127.0.0.1", "[::1]"]) {
      expect(classifyFetchError({ message: LOST, retryable: true, hostname })).toEqual({ kind: "reset" });
      expect(classifyFetchError({ message: LOST, retryable: undefined, hostname })).toEqual({ kind: "reset" });
    }
  });

  it("keeps the internal error a reset for an IP literal, which cannot fail DNS (there it is a non-HTTP answer)", () => {
    expect(classifyFetchError({ message: INTERNAL, retryable: undefined, hostname: "127.0.0.1" })).toEqual({ kind: "reset" });
    expect(classifyFetchError({ message: INTERNAL, retryable: undefined, hostname: "[2001:db8::1]" })).toEqual({ kind: "reset" });
  });

  it("does not trust an internal error that workerd marked retryable (a connection-level failure)", () => {
    expect(classifyFetchError({ message: INTERNAL, retryable: true, hostname: "origin-1.example.com" })).toEqual({ kind: "reset" });
  });

  it("classes explicit DNS messages as connect failures and anything else as a reset", () => {
    expect(classifyFetchError({ message: "DNS lookup failed", retryable: undefined, hostname: "a.example" })).toEqual({ kind: "connect-failure" });
    expect(classifyFetchError({ message: "getaddrinfo ENOTFOUND a.example", retryable: undefined, hostname: "a.example" })).toEqual({ kind: "connect-failure" });
    expect(classifyFetchError({ message: "something else", retryable: undefined, hostname: "a.example" })).toEqual({ kind: "reset" });
  });

  it("recognises IP literals", () => {
    expect(isIpLiteral("10.0.0.1")).toBe(true);
    expect(isIpLiteral("[::1]")).toBe(true);
    expect(isIpLiteral("10.0.0.1.example.com")).toBe(false);
    expect(isIpLiteral("origin.example.com")).toBe(false);
  });
});
