import * as z from "../schema/zod.js";
import { isoTimeSchema } from "./iso-time.js";
import { MIN_LOG_SAMPLE } from "./log-sample.js";

/**
 * The version every event line carries as `v`. A reader keys on it: a field
 * is only ever added within a version; renaming or removing one, or changing
 * its meaning, makes the next version (docs/analytics.md, the `v` row).
 */
export const EVENT_VERSION = 1;

/*
 * Bounds: every string and array has one, so a reader can trust a line it
 * validated. They are generous on purpose: they reject garbage, not traffic.
 */
const MAX_ID = 128;
const MAX_HOST = 253;
/**
 * The longest path a line carries. A Worker takes URLs up to 16 KB
 * (developers.cloudflare.com/workers/platform/limits, "Request limits"), so
 * the router cuts a longer path to this (edge/report/request-log.ts) rather
 * than write a line its own schema refuses.
 */
export const MAX_LOGGED_PATH = 8192;
/** Tries per request are bounded by `retry.attempts` (schema/service.ts), far below this. */
const MAX_TRIES = 64;

const str = (max: number) => z.string().check(z.maxLength(max));
const nullableStr = (max: number) => z.nullable(str(max));
const count = z.number().check(z.int(), z.gte(0));
const nullableCount = z.nullable(count);
/** W3C trace context ids, lowercase hex (core/proxy/trace.ts). */
export const traceIdSchema = z.string().check(z.regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex digits"));
export const spanIdSchema = z.string().check(z.regex(/^[0-9a-f]{16}$/, "must be 16 lowercase hex digits"));
/**
 * An outcome as a slug, not a closed enum: admission policies add outcomes
 * (`rate_limited`, `shed`, ...) and a reader of version 1 must still accept
 * their lines. The known ones are listed in docs/analytics.md.
 */
const outcomeSchema = z.string().check(z.regex(/^[a-z][a-z_]{0,39}$/, "must be an outcome slug such as ok or failed_over"));

/**
 * One proxied request, version 1: one JSON line per request from the record
 * stage (src/edge/report/request-log.ts). The fields before `v` existed
 * before versioning and keep their names and meaning.
 */
export const requestEventSchema = z.object({
  v: z.literal(EVENT_VERSION),
  event: z.literal("request"),
  ts: isoTimeSchema,
  /** `cf-ray` when the request came through Cloudflare's edge, else a generated id (the mesh's span id). */
  requestId: str(MAX_ID).check(z.minLength(1)),
  traceId: traceIdSchema,
  /** The mesh's own span: the parent id in the `traceparent` sent to origins. */
  spanId: spanIdSchema,
  service: nullableStr(MAX_ID),
  /** The service that had nothing healthy and handed the request to `service` (its fallbackService); null without a hop. */
  fallbackFrom: nullableStr(MAX_ID),
  method: str(32),
  host: str(MAX_HOST + 6),
  path: str(MAX_LOGGED_PATH),
  status: z.number().check(z.int(), z.gte(100), z.lte(599)),
  outcome: outcomeSchema,
  instance: nullableStr(MAX_ID),
  attempts: count,
  tried: z.array(str(MAX_ID)).check(z.maxLength(MAX_TRIES)),
  failures: z.array(str(32)).check(z.maxLength(MAX_TRIES)),
  /** Receipt to response headers, as the Worker measured it. */
  latencyMs: count,
  /** Time spent waiting for origins' response headers, summed over the tries; null when no origin was tried. */
  upstreamLatencyMs: nullableCount,
  /** The request body's size: the buffered body's length or `Content-Length`; null for an unsized (chunked) upload. */
  bytesIn: nullableCount,
  /** The answer's `Content-Length` (0 for HEAD, 204, 304); null when unsized (chunked) or the mesh's own answer. */
  bytesOut: nullableCount,
  /** `request.cf.colo` and `request.cf.country`; null outside Cloudflare's edge. */
  colo: nullableStr(16),
  country: nullableStr(16),
  mode: z.nullable(z.enum(["snapshot", "strict", "kv-fallback"])),
  snapshotVersion: nullableCount,
  /** True when the retry budget refused a retry the retry policy allowed (docs/api.md, "Flow control"). */
  retryBudgetExhausted: z.boolean(),
  /**
   * How many requests this line stands for: 1, or 1/p for a plain success
   * written with probability p under REQUEST_LOG_SAMPLE (core/events/log-sample.ts).
   * Added within version 1: a line without it stands for one request.
   */
  weight: z.number().check(z.gte(1), z.lte(1 / MIN_LOG_SAMPLE)),
});

export type RequestEvent = z.infer<typeof requestEventSchema>;
