import { describe, expect, it } from "vitest";
import {
  classifyStatus,
  decideRetry,
  isIdempotent,
  matchesRetryOn,
  type RetryInput,
  type TryFailure,
} from "../../../src/core/retry/retry-policy.js";
import type { RetryCondition } from "../../../src/core/schema/service.js";

const DEFAULT_RETRY_ON: RetryCondition[] = ["connect-failure", "timeout", "502", "503", "504"];

const connectFailure: TryFailure = { kind: "connect-failure" };
const reset: TryFailure = { kind: "reset" };
const timeout: TryFailure = { kind: "timeout" };
const status = (code: number): TryFailure => ({ kind: "status", status: code });

function attempt(overrides: Partial<RetryInput>): RetryInput {
  return {
    method: "GET",
    failure: connectFailure,
    triesMade: 1,
    policy: { attempts: 3, retryOn: DEFAULT_RETRY_ON },
    bodyReplayable: true,
    instancesLeft: 2,
    ...overrides,
  };
}

describe("isIdempotent", () => {
  it.each(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "get", "Delete"])("%s is idempotent", (m) => {
    expect(isIdempotent(m)).toBe(true);
  });
  it.each(["POST", "PATCH", "post", "CONNECT"])("%s is not idempotent", (m) => {
    expect(isIdempotent(m)).toBe(false);
  });
});

describe("decideRetry", () => {
  describe.each(["GET", "HEAD", "PUT", "DELETE"])("idempotent %s", (method) => {
    it("retries a connect failure", () => {
      expect(decideRetry(attempt({ method, failure: connectFailure }))).toEqual({ retry: true });
    });
    it("retries a timeout when retryOn has 'timeout'", () => {
      expect(decideRetry(attempt({ method, failure: timeout }))).toEqual({ retry: true });
    });
    it("retries a 5xx listed in retryOn", () => {
      expect(decideRetry(attempt({ method, failure: status(503) }))).toEqual({ retry: true });
    });
    it("retries a reset (treated as a connect failure for idempotent methods)", () => {
      expect(decideRetry(attempt({ method, failure: reset }))).toEqual({ retry: true });
    });
    it("does not retry a 500 that retryOn does not list", () => {
      expect(decideRetry(attempt({ method, failure: status(500) }))).toEqual({ retry: false, reason: "not_retryable_failure" });
    });
    it("does not retry a timeout when retryOn lacks 'timeout'", () => {
      const policy = { attempts: 3, retryOn: ["connect-failure", "5xx"] };
      expect(decideRetry(attempt({ method, failure: timeout, policy }))).toEqual({ retry: false, reason: "not_retryable_failure" });
    });
  });

  describe.each(["POST", "PATCH"])("non-idempotent %s", (method) => {
    it("retries only a connect failure, which provably never reached the origin", () => {
      expect(decideRetry(attempt({ method, failure: connectFailure }))).toEqual({ retry: true });
    });
    it.each([
      ["timeout", timeout],
      ["reset", reset],
      ["503", status(503)],
      ["502", status(502)],
    ] as const)("does not retry %s", (_label, failure) => {
      expect(decideRetry(attempt({ method, failure }))).toEqual({ retry: false, reason: "method_not_idempotent" });
    });
  });

  it("never retries a reset for POST even when every condition is enabled", () => {
    const policy = { attempts: 10, retryOn: ["connect-failure", "timeout", "5xx"] };
    expect(decideRetry(attempt({ method: "POST", failure: reset, policy, instancesLeft: 9 })).retry).toBe(false);
  });

  it("does not retry when the body was streamed and cannot be replayed", () => {
    expect(decideRetry(attempt({ method: "PUT", bodyReplayable: false }))).toEqual({ retry: false, reason: "body_not_replayable" });
    expect(decideRetry(attempt({ method: "POST", bodyReplayable: false }))).toEqual({ retry: false, reason: "body_not_replayable" });
  });

  it("does not retry once the attempts are used up", () => {
    const policy = { attempts: 3, retryOn: DEFAULT_RETRY_ON };
    expect(decideRetry(attempt({ triesMade: 2, policy })).retry).toBe(true);
    expect(decideRetry(attempt({ triesMade: 3, policy }))).toEqual({ retry: false, reason: "attempts_exhausted" });
    expect(decideRetry(attempt({ triesMade: 1, policy: { attempts: 1, retryOn: DEFAULT_RETRY_ON } }))).toEqual({
      retry: false,
      reason: "attempts_exhausted",
    });
  });

  it("does not retry when no untried instance is left", () => {
    expect(decideRetry(attempt({ instancesLeft: 0 }))).toEqual({ retry: false, reason: "no_other_instance" });
    expect(decideRetry(attempt({ instancesLeft: 1 }))).toEqual({ retry: true });
  });
});

describe("matchesRetryOn", () => {
  it("'5xx' matches every status from 500 to 599 and nothing else", () => {
    for (const code of [500, 501, 503, 599]) expect(matchesRetryOn(status(code), ["5xx"])).toBe(true);
    for (const code of [200, 404, 429, 499, 600]) expect(matchesRetryOn(status(code), ["5xx"])).toBe(false);
  });

  it("explicit codes match only themselves", () => {
    expect(matchesRetryOn(status(503), ["502", "503"])).toBe(true);
    expect(matchesRetryOn(status(502), ["502", "503"])).toBe(true);
    expect(matchesRetryOn(status(504), ["502", "503"])).toBe(false);
    expect(matchesRetryOn(status(500), ["502", "503"])).toBe(false);
  });

  it("a status failure without a status never matches", () => {
    expect(matchesRetryOn({ kind: "status" }, ["5xx"])).toBe(false);
  });

  it("connect failures and resets need 'connect-failure'; timeouts need 'timeout'", () => {
    expect(matchesRetryOn(connectFailure, ["connect-failure"])).toBe(true);
    expect(matchesRetryOn(reset, ["connect-failure"])).toBe(true);
    expect(matchesRetryOn(connectFailure, ["timeout", "5xx"])).toBe(false);
    expect(matchesRetryOn(reset, ["timeout", "5xx"])).toBe(false);
    expect(matchesRetryOn(timeout, ["timeout"])).toBe(true);
    expect(matchesRetryOn(timeout, ["connect-failure", "5xx"])).toBe(false);
  });

  it("an empty retryOn matches nothing", () => {
    for (const f of [connectFailure, reset, timeout, status(503)]) expect(matchesRetryOn(f, [])).toBe(false);
  });
});

describe("classifyStatus", () => {
  it("treats every 5xx as a failure, listed in retryOn or not", () => {
    expect(classifyStatus(503)).toEqual({ kind: "status", status: 503 });
    expect(classifyStatus(500)).toEqual({ kind: "status", status: 500 });
  });

  it("leaves retrying an unlisted 5xx to decideRetry, which refuses it", () => {
    const failure = classifyStatus(500);
    if (failure === null) throw new Error("expected a failure");
    expect(matchesRetryOn(failure, DEFAULT_RETRY_ON)).toBe(false);
  });

  it("never treats a non-5xx as a failure", () => {
    for (const code of [200, 301, 404, 429]) expect(classifyStatus(code)).toBeNull();
  });
});
