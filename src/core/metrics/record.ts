import * as z from "../schema/zod.js";
import { BUCKET_COUNT } from "./buckets.js";
import { addHistogram, emptyHistogram, type Histogram } from "./histogram.js";

/**
 * What the mesh counts for one instance over some span (a router's flush
 * interval, one minute, or all time): requests by outcome and status class,
 * the retries and failovers of those requests, and two latency histograms.
 * Requests are attributed to the instance that gave the last answer; a
 * request that reached none (no_healthy_instance, a refused token) goes under
 * NO_INSTANCE. Every field merges by addition (mergeRecord).
 */
export interface MetricsRecord {
  /** Keyed `${outcome} ${codeClass}`, e.g. "ok 2xx", "upstream_error 5xx", "client_error none". */
  requests: Record<string, number>;
  /** Tries beyond the first. */
  retries: number;
  /** Requests answered by another instance after a failed try. */
  failovers: number;
  /** Client-seen: from the request's arrival to the response (headers) the mesh returned. */
  client: Histogram;
  /** One observation per try: the origin's time to response headers, or to the failure. */
  upstream: Histogram;
}

/** The instance label of requests that reached no instance. */
export const NO_INSTANCE = "";

/** Outcome names are open-ended (other stages add theirs); these bound what one record may carry. */
export const MAX_OUTCOME_LENGTH = 40;
export const MAX_REQUEST_KEYS = 64;
export const CODE_CLASSES = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export type CodeClass = (typeof CODE_CLASSES)[number];

/** The status class: "2xx" … "5xx", "none" when no status was sent (0 or out of range). */
export function codeClassIndex(status: number): number {
  const c = Math.floor(status / 100);
  return c >= 1 && c <= 5 ? c : 0;
}

export function requestKey(outcome: string, codeClass: string): string {
  return `${outcome} ${codeClass}`;
}

export function splitRequestKey(key: string): { outcome: string; codeClass: string } {
  const space = key.lastIndexOf(" ");
  return space < 0 ? { outcome: key, codeClass: "none" } : { outcome: key.slice(0, space), codeClass: key.slice(space + 1) };
}

export function emptyRecord(): MetricsRecord {
  return { requests: {}, retries: 0, failovers: 0, client: emptyHistogram(), upstream: emptyHistogram() };
}

/** Adds `from` into `into` (in place) and returns it. */
export function mergeRecord(into: MetricsRecord, from: MetricsRecord): MetricsRecord {
  for (const [k, v] of Object.entries(from.requests)) into.requests[k] = (into.requests[k] ?? 0) + v;
  into.retries += from.retries;
  into.failovers += from.failovers;
  addHistogram(into.client, from.client);
  addHistogram(into.upstream, from.upstream);
  return into;
}

export function requestCount(r: MetricsRecord): number {
  let n = 0;
  for (const v of Object.values(r.requests)) n += v;
  return n;
}

/**
 * A failover: a request answered by another instance after a failed try, i.e. more than one try and
 * the last one succeeded. The one rule behind the stats' failoverRate and switchyard_failovers_total
 * (accumulator.ts) and the Analytics Engine data point's failover double (events/analytics-point.ts).
 */
export function failedOver(tries: readonly { readonly ok: boolean }[]): boolean {
  const n = tries.length;
  return n > 1 && tries[n - 1]?.ok === true;
}

/** Errors are requests answered with a 5xx, the mesh's own 502/503/504 included: the server-side failures a client sees. */
export function errorCount(r: MetricsRecord): number {
  let n = 0;
  for (const [k, v] of Object.entries(r.requests)) if (k.endsWith(" 5xx")) n += v;
  return n;
}

const count = z.number().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
const histogramSchema = z.object({ counts: z.array(count).check(z.length(BUCKET_COUNT)), sumMs: count });

/**
 * A record that crossed a trust boundary (an RPC payload, stored JSON):
 * non-negative finite numbers, the bucket layout, bounded outcome keys.
 */
export const metricsRecordSchema = z.object({
  requests: z.record(z.string().check(z.maxLength(MAX_OUTCOME_LENGTH + 5)), count).check(
    z.refine((r) => Object.keys(r).length <= MAX_REQUEST_KEYS, `at most ${String(MAX_REQUEST_KEYS)} outcome/class pairs`),
  ),
  retries: count,
  failovers: count,
  client: histogramSchema,
  upstream: histogramSchema,
});

/** Null when anything is off, so one bad delta or row is dropped instead of poisoning the totals. */
export function parseRecord(x: unknown): MetricsRecord | null {
  const parsed = metricsRecordSchema.safeParse(x);
  return parsed.success ? parsed.data : null;
}
