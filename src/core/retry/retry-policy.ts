import type { RetryCondition, RetryPolicy } from "../schema/service.js";

/**
 * Why one try failed. `connect-failure` means the request never reached the
 * origin (refused, DNS, TLS), so even a POST is safe to resend; `reset` means
 * the connection broke after the request may have been sent.
 */
export type FailureKind = "connect-failure" | "reset" | "timeout" | "status";

export interface TryFailure {
  kind: FailureKind;
  /** Set when kind is "status". */
  status?: number;
}

/** Methods that RFC 9110 calls idempotent: resending them cannot double an effect. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

export function matchesRetryOn(failure: TryFailure, retryOn: readonly RetryCondition[]): boolean {
  switch (failure.kind) {
    case "connect-failure":
      return retryOn.includes("connect-failure");
    case "timeout":
      return retryOn.includes("timeout");
    case "reset":
      // A reset is a connection failure we cannot prove happened before sending.
      return retryOn.includes("connect-failure");
    case "status": {
      const status = failure.status ?? 0;
      return retryOn.includes(String(status)) || (status >= 500 && status <= 599 && retryOn.includes("5xx"));
    }
  }
}

/**
 * Is this answer a failure? Every 5xx counts against the instance's passive
 * health (as in Envoy's consecutive-5xx outlier detection); whether it is also
 * retried is decideRetry's business, and depends on `retryOn`.
 */
export function classifyStatus(status: number): TryFailure | null {
  return status >= 500 && status <= 599 ? { kind: "status", status } : null;
}

/** What decideRetry weighs about the try that just failed and what is left to try. */
export interface RetryInput {
  method: string;
  failure: TryFailure;
  /** Tries already made, including the one that just failed. */
  triesMade: number;
  policy: Pick<RetryPolicy, "attempts" | "retryOn">;
  /** False when the body was streamed to the origin and cannot be sent again. */
  bodyReplayable: boolean;
  /** Untried, eligible instances left. */
  instancesLeft: number;
}

export type RetryDecision = { retry: true } | { retry: false; reason: string };

export function decideRetry(attempt: RetryInput): RetryDecision {
  if (attempt.triesMade >= attempt.policy.attempts) return { retry: false, reason: "attempts_exhausted" };
  if (attempt.instancesLeft <= 0) return { retry: false, reason: "no_other_instance" };
  if (!matchesRetryOn(attempt.failure, attempt.policy.retryOn)) return { retry: false, reason: "not_retryable_failure" };
  if (!attempt.bodyReplayable) return { retry: false, reason: "body_not_replayable" };
  // POST and PATCH are only resent when the first try provably never reached the origin.
  if (!isIdempotent(attempt.method) && attempt.failure.kind !== "connect-failure") {
    return { retry: false, reason: "method_not_idempotent" };
  }
  return { retry: true };
}
