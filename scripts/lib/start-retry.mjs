// @ts-check
// When and how long the registration client's start() waits before trying
// again (scripts/lib/registration-client.mjs). Plain functions: time and
// randomness come in as arguments, so the unit tests fix them.

/**
 * @typedef {{ deadlineMs: number, baseDelayMs: number, maxDelayMs: number }} StartRetry
 * deadlineMs: how long start() keeps trying, from its first attempt (0: one attempt, no retry);
 * baseDelayMs, maxDelayMs: the first backoff ceiling and its cap.
 */

/**
 * Defaults: origins start in any order, and a mesh deploy or a local
 * `wrangler dev` takes seconds to come up, so a minute of tries; 10 s at most
 * between two, so an origin is in service soon after the mesh is.
 * @type {StartRetry}
 */
export const START_RETRY = { deadlineMs: 60_000, baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Full jitter (AWS's "Exponential Backoff and Jitter"): a uniform draw below a
 * ceiling that doubles per attempt up to maxDelayMs, so origins that all
 * started before the mesh do not come back in step.
 * @param {number} attempt 0 for the wait after the first failure
 * @param {StartRetry} retry
 * @param {number} random a draw in [0, 1)
 */
export function backoffMs(attempt, retry, random) {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random * ceiling);
}

/**
 * Whether an answer to the registration is worth asking again: the mesh is
 * overloaded or failing (5xx), or it asked us to slow down (429). Any other
 * 4xx (a wrong token, a refused URL, an unknown service) will not change by
 * asking again.
 * @param {number} status
 */
export function transientStatus(status) {
  return status === 429 || status >= 500;
}

/**
 * A Retry-After header's wait in ms (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date); null when absent or unreadable, so the backoff decides.
 * @param {string | null} value
 * @param {number} now
 */
export function retryAfterMs(value, now) {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with the day's name; Date.parse alone takes "-1" for a year.
  const at = /^[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
