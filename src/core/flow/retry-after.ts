import { parseHttpDate } from "../net/http-date.js";

/**
 * An origin's `Retry-After` on a 503 (RFC 9110 §10.2.3): delay-seconds or an
 * HTTP-date. The edge holds the instance back until then, in this isolate.
 * Capped at MAX_RETRY_AFTER_MS so a mistaken (or hostile) origin cannot take
 * itself out of rotation for days; the coordinator's health checks still
 * decide whether it is routable at all. Anything else holds nothing: a value
 * that is neither ("soon", a date in another format or zone, 31 February) is
 * a mistake, and the safe reading of a mistake is to keep the instance in
 * rotation (its 503 already counts as a failed try) rather than out of it for
 * the full cap.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

const DELAY_SECONDS = /^\d+$/;

/** Milliseconds to hold the instance back from `now`, or null when the header is absent, unusable or already past. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  let ms: number;
  if (DELAY_SECONDS.test(value)) {
    // Any number of digits: past 308 of them it is Infinity, which the cap still bounds.
    ms = Number(value) * 1000;
  } else {
    const at = parseHttpDate(value, now);
    if (at === null) return null;
    ms = at - now;
  }
  if (ms <= 0) return null;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
