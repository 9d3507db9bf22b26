import { codeClassIndex, failedOver, MAX_OUTCOME_LENGTH, NO_INSTANCE } from "../metrics/record.js";

/**
 * The Analytics Engine data point of one finished request (issue 12): what
 * the record stage writes when an `ANALYTICS` dataset is bound
 * (src/edge/report/analytics-sink.ts). Pure, so the layout is unit-tested
 * here; a local write is a no-op and shows nothing.
 *
 * The layout is positional and, once written, is what every saved SQL query
 * reads: a position is only ever appended, never moved or given a new
 * meaning (docs/analytics.md, "Analytics Engine", lists each one).
 */

/** blob1..blob4, in order. Issue 12 pinned all four. */
export const ANALYTICS_BLOBS = ["service", "instance", "outcome", "colo"] as const;
/**
 * double1..double5, in order. Issue 12 pinned the first two; the other three
 * are what the SQL needs to reproduce the stats endpoint's errorRate and
 * failoverRate without restating the metrics' rules in every query.
 */
export const ANALYTICS_DOUBLES = ["latencyMs", "attempts", "status", "error", "failover"] as const;

/*
 * Analytics Engine's limits per data point (developers.cloudflare.com/analytics/analytics-engine/limits,
 * read 2026-12-02): one index of at most 96 bytes; up to 20 blobs of at most 16 KB together; up to 20 doubles.
 * writeDataPoint throws on a point past them, so every string is cut here, by UTF-8 bytes, never refused.
 */
export const MAX_INDEX_BYTES = 96;
export const MAX_BLOBS_BYTES = 16 * 1024;
/**
 * Per blob. Service names are 1-63 ASCII characters (schema/service.ts), so
 * the index's 96 bytes never cut a real one; blob1 gets the same cut as the
 * index so the two always agree. Instance ids are 16 hex digits; 128 is the
 * request event's bound for an id (request-event.ts). Colo is three letters
 * (the request event keeps 16). Together: 280 bytes, far under 16 KB.
 */
export const MAX_BLOB_BYTES = {
  service: MAX_INDEX_BYTES,
  instance: 128,
  outcome: MAX_OUTCOME_LENGTH,
  colo: 16,
} as const satisfies Record<(typeof ANALYTICS_BLOBS)[number], number>;

/** blob4 of a request with no `request.cf.colo` (outside Cloudflare's edge: local dev, tests). */
export const UNKNOWN_COLO = "";

/** What the record stage knows of a finished request, as plain data. */
export interface FinishedRequest {
  readonly service: string;
  /** The instance that gave the last answer; null when none was reached (blob2 is then NO_INSTANCE, ""). */
  readonly instance: string | null;
  readonly outcome: string;
  readonly colo: string | null;
  /** Client-seen: the request's arrival to the response headers, as the stats endpoint's latencyMs. */
  readonly latencyMs: number;
  /** The status sent; 0 when none was. */
  readonly status: number;
  /** One per try made, in order; only `ok` is read. */
  readonly tries: readonly { readonly ok: boolean }[];
}

/** Structurally an AnalyticsEngineDataPoint; declared here so the core needs no Workers types. */
export interface AnalyticsPoint {
  indexes: [string];
  blobs: string[];
  doubles: number[];
}

export function analyticsPoint(r: FinishedRequest): AnalyticsPoint {
  const service = cutUtf8(r.service, MAX_BLOB_BYTES.service);
  return {
    // The index is Analytics Engine's sampling key: per service, so a busy service is sampled and a quiet one is not.
    indexes: [service],
    blobs: [
      service,
      cutUtf8(r.instance ?? NO_INSTANCE, MAX_BLOB_BYTES.instance),
      cutUtf8(r.outcome, MAX_BLOB_BYTES.outcome),
      cutUtf8(r.colo ?? UNKNOWN_COLO, MAX_BLOB_BYTES.colo),
    ],
    doubles: [
      // A clock that stepped back is not a slow request (and not a negative one): 0, as the histogram's first bucket.
      r.latencyMs > 0 ? r.latencyMs : 0,
      r.tries.length,
      r.status,
      // errorRate counts 5xx answers, the mesh's own 502/503/504 included (metrics/record.ts, errorCount).
      codeClassIndex(r.status) === 5 ? 1 : 0,
      failedOver(r.tries) ? 1 : 0,
    ],
  };
}

/**
 * `s` cut to at most `max` bytes of UTF-8, never inside a character. A lone
 * surrogate counts 3 bytes, as the U+FFFD it is encoded as. Counts code units
 * instead of encoding, so a string that fits costs no allocation.
 */
export function cutUtf8(s: string, max: number): string {
  // Each UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
  if (s.length * 3 <= max) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let width = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    let units = 1;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        width = 4;
        units = 2;
      }
    }
    if (bytes + width > max) return s.slice(0, i);
    bytes += width;
    i += units - 1;
  }
  return s;
}
