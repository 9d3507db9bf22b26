/**
 * An origin's `Retry-After` on a 503 (RFC 9110 §10.2.3): delay-seconds or an
 * HTTP-date. The edge holds the instance back until then, in this isolate.
 * Capped at MAX_RETRY_AFTER_MS so a mistaken (or hostile) origin cannot take
 * itself out of rotation for days; the coordinator's health checks still
 * decide whether it is routable at all.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

const DELAY_SECONDS = /^\d+$/;

/** Milliseconds to hold the instance back from `now`, or null when the header is absent, unusable or already past. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (value === "") return null;
  let ms: number;
  if (DELAY_SECONDS.test(value)) {
    ms = Number(value) * 1000;
  } else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  if (ms <= 0) return null;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
