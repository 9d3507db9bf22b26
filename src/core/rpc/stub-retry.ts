/**
 * When and how to call a Durable Object stub again. The platform marks an
 * error `retryable` when the call may not have reached the object (a reset, a
 * moved object) and `overloaded` when the object is shedding load, where a
 * retry only adds to the queue. So: retry only retryable, never overloaded
 * (partyserver's rule), with a full-jitter backoff so callers that failed
 * together do not come back together, and a fresh stub each attempt (a stub
 * that saw a broken connection stays broken).
 */

export interface StubRetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Uniform in [0, 1). */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  /**
   * Asked after the backoff, before each retry: true gives up with the last error. A retry is a new
   * call, sent after the first failed: a write the admin queue has moved on past (core/admin/admin-queue.ts)
   * must send none, since a later write's call may have landed since and the retry would undo it.
   */
  stop?: () => boolean;
}

/** One retry after at most 100 ms: an API caller is waiting, and a second failure is answered 503. */
export const STUB_RETRY: Omit<StubRetryOptions, "random" | "sleep"> = { attempts: 2, baseDelayMs: 100, maxDelayMs: 1000 };

export function isRetryableStubError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { retryable?: unknown; overloaded?: unknown };
  return e.retryable === true && e.overloaded !== true;
}

/** Full jitter: uniform in [0, min(max, base * 2^retry)), retry counting from 0. */
export function fullJitterDelayMs(retry: number, opts: Pick<StubRetryOptions, "baseDelayMs" | "maxDelayMs" | "random">): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** retry);
  return Math.floor(opts.random() * ceiling);
}

/** Runs `call(attempt)` until it succeeds, fails with a non-retryable error, or runs out of attempts. */
export async function withStubRetry<T>(call: (attempt: number) => Promise<T>, opts: StubRetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (attempt + 1 >= opts.attempts || !isRetryableStubError(err)) throw err;
      await opts.sleep(fullJitterDelayMs(attempt, opts));
      if (opts.stop?.() === true) throw err;
    }
  }
}
