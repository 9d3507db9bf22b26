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
 * The longest wait a Retry-After gets: five minutes, as the edge caps an
 * origin's (src/core/flow/retry-after.ts). A mesh still not ready then says
 * so again, and a mistaken header cannot park an origin for days; a Node
 * timer past 2^31-1 ms (24.8 days) would instead fire after 1 ms.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH = MONTHS.join("|");
const DAY = "Mon|Tue|Wed|Thu|Fri|Sat|Sun";
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`;
// The three HTTP-date forms (RFC 9110 §5.6.7), case-sensitive; each captures its fields in its own order.
const IMF_FIXDATE = new RegExp(String.raw`^(?:${DAY}), (\d{2}) (${MONTH}) (\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(String.raw`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(${MONTH})-(\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(String.raw`^(?:${DAY}) (${MONTH}) ( \d|\d{2}) ${TIME} (\d{4})$`);

/**
 * An HTTP-date in ms since the epoch, or null when `text` is not one. Not
 * Date.parse: it reads "Soon 2099" or "Tue, 31 Feb 2099" as dates years
 * ahead, and start() then gave up at once on a header that means nothing.
 * @param {string} text
 * @param {number} now
 */
function httpDateMs(text, now) {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return utc(m[1], m[2], Number(m[3]), m[4], m[5], m[6]);
  if ((m = RFC850_DATE.exec(text)) !== null) {
    // A two-digit year more than 50 years ahead is the latest past year with those digits (RFC 9110 §5.6.7).
    let year = Math.floor(new Date(now).getUTCFullYear() / 100) * 100 + Number(m[3]);
    if (Date.UTC(year, 0) > now + 50 * 365.25 * 86_400_000) year -= 100;
    return utc(m[1], m[2], year, m[4], m[5], m[6]);
  }
  if ((m = ASCTIME_DATE.exec(text)) !== null) return utc(m[2], m[1], Number(m[6]), m[3], m[4], m[5]);
  return null;
}

/**
 * The instant, or null for a date or time that does not exist (31 February, 24:00).
 * Second 60 is a leap second (RFC 5322 §3.3), which Date.UTC carries into the next minute.
 * @param {string | undefined} day @param {string | undefined} month @param {number} year
 * @param {string | undefined} hour @param {string | undefined} minute @param {string | undefined} second
 */
function utc(day, month, year, hour, minute, second) {
  const [d, h, mi, sec] = [day, hour, minute, second].map(Number);
  if (d === undefined || h === undefined || mi === undefined || sec === undefined) return null;
  if (h > 23 || mi > 59 || sec > 60) return null;
  const at = Date.UTC(year, MONTHS.indexOf(month ?? ""), d, h, mi, sec);
  return new Date(at).getUTCDate() === d ? at : null;
}

/**
 * A Retry-After header's wait in ms (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), at most MAX_RETRY_AFTER_MS; 0 for a date already past; null when
 * absent or unreadable (a negative or fractional number, a word, a date in no
 * HTTP-date form), so the client's own backoff decides.
 * @param {string | null} value
 * @param {number} now
 */
export function retryAfterMs(value, now) {
  if (value === null) return null;
  const text = value.trim();
  // A number of any length: past 308 digits it is Infinity, which the cap still bounds.
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : (httpDateMs(text, now) ?? Number.NaN) - now;
  return Number.isNaN(ms) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
