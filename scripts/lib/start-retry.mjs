// @ts-check
// When and how long the registration client's start() waits before trying
// again (scripts/lib/registration-client.mjs). Plain functions: time and
// randomness come in as arguments, so the unit tests fix them.

import { parseHttpDate } from "./http-date.mjs";

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
 * The longest wait a Retry-After gets: five minutes, as the edge caps an
 * origin's (src/core/flow/retry-after.ts). A mesh still not ready then says
 * so again, and a mistaken header cannot park an origin for days; a Node
 * timer past 2^31-1 ms (24.8 days) would instead fire after 1 ms.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * A Retry-After header's wait in ms (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), at most MAX_RETRY_AFTER_MS; 0 for a date already past; null when
 * absent or unreadable (a negative or fractional number, a word, a date in no
 * HTTP-date form, 31 February, a weekday the date is not), so the client's own
 * backoff decides. Not Date.parse: it reads "Soon 2099" or "Tue, 31 Feb 2099"
 * as dates years ahead, and start() then gave up at once on a header that
 * means nothing.
 * @param {string | null} value
 * @param {number} now
 */
export function retryAfterMs(value, now) {
  if (value === null) return null;
  const text = value.trim();
  // A number of any length: past 308 digits it is Infinity, which the cap still bounds.
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : (parseHttpDate(text, now) ?? Number.NaN) - now;
  return Number.isNaN(ms) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
