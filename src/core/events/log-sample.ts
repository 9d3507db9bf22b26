/**
 * Sampling of the request line (REQUEST_LOG_SAMPLE, docs/analytics.md,
 * "Sampling the request line"): plain successes are written with probability
 * p and carry `weight` 1/p; every other request is always written, weight 1.
 * Pure: the record stage reads the var, draws the randomness and logs the
 * warning (src/edge/report/record.ts).
 *
 * The draw is per request, not a 1-in-N counter: a counter is periodic, and a
 * period that lines up with one in the traffic (round-robin over N instances,
 * a client polling N paths in turn) would keep one instance's or one path's
 * requests and none of the others'. Independent draws keep every request with
 * the same probability whatever order they come in, which is what makes 1/p
 * an unbiased weight.
 */

/**
 * The smallest rate taken. Below it a line would stand for more than a
 * million requests, and at the extreme 1/p is not finite (1 / 5e-324 is
 * Infinity), so the weight would not be a number a reader can add.
 */
export const MIN_LOG_SAMPLE = 0.000001;

export interface ParsedLogSample {
  /** The probability a plain success is written: 1 writes every line. */
  rate: number;
  /** Why the value was refused (every line is written), or null when it was taken as written. */
  warning: string | null;
}

/** Plain decimal notation only: `Number("")` is 0, `Number("0x1")` is 1, and `1e-2` is not what the docs show. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Unset means every line. A value that does not parse, or lies outside
 * [MIN_LOG_SAMPLE, 1], is refused as a whole and every line is written: a
 * typo must not silently thin the analytics event, or drop it (the same rule
 * as CONTROL_PLANE_RATE_LIMITS, src/core/rate-limit/settings.ts).
 */
export function parseLogSample(raw: unknown): ParsedLogSample {
  if (raw === undefined) return { rate: 1, warning: null };
  // wrangler passes an unquoted [vars] value (`= 0.01`, `= false`) through as that JSON value, though the
  // generated Env says string: refused like any bad value (every line), not a TypeError on every request.
  if (typeof raw !== "string") {
    return {
      rate: 1,
      warning: `REQUEST_LOG_SAMPLE ignored, every request line is written: it is a ${raw === null ? "null" : typeof raw}, not a string (quote it: "0.01")`,
    };
  }
  const value = raw.trim();
  const rate = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (rate >= MIN_LOG_SAMPLE && rate <= 1) return { rate, warning: null };
  return {
    rate: 1,
    warning: `REQUEST_LOG_SAMPLE ignored, every request line is written: ${JSON.stringify(raw)} is not a decimal fraction from ${MIN_LOG_SAMPLE} to 1 (e.g. 0.01)`,
  };
}

/** What the rule reads of a finished request; the record stage's RequestState has these fields. */
export interface SampleFacts {
  readonly outcome: string;
  readonly status: number;
  /** One per try, in order. */
  readonly outcomes: readonly { readonly ok: boolean }[];
  readonly budgetExhausted: boolean;
  readonly fallbackFrom: string | null;
}

/**
 * A request answered at once by one origin with a non-5xx, nothing else
 * happening: the only kind of line that is sampled. `ok` is already "one
 * try, and it succeeded" (respond.ts); the other checks keep the rule true
 * should that change: a 5xx, a second try or a failed one, a refused retry,
 * and a fallback hop are always written. Every outcome but `ok` (failed_over,
 * upstream_error, no_route, rate_limited, shed, overloaded, …) is too. An
 * origin's own 4xx is its answer, relayed as `ok`, and is sampled.
 */
export function plainSuccess(f: SampleFacts): boolean {
  return (
    f.outcome === "ok" &&
    f.status < 500 &&
    f.outcomes.length === 1 &&
    f.outcomes[0]?.ok === true &&
    !f.budgetExhausted &&
    f.fallbackFrom === null
  );
}

/**
 * The line's weight, or 0 to write no line: 1 for every request that is not
 * a plain success; for a plain success, 1/rate with probability `rate`.
 * `random` is called only when a draw is needed, and must return [0, 1).
 */
export function lineWeight(rate: number, facts: SampleFacts, random: () => number): number {
  if (!plainSuccess(facts)) return 1;
  return random() < rate ? 1 / rate : 0;
}
