import { PERCENTILE_ERROR } from "./buckets.js";
import { emptyHistogram, percentile, type Histogram } from "./histogram.js";
import { emptyRecord, errorCount, mergeRecord, requestCount, type MetricsRecord } from "./record.js";

export const STATS_WINDOWS = ["1m", "5m", "1h"] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];
const WINDOW_MINUTES: Record<StatsWindow, number> = { "1m": 1, "5m": 5, "1h": 60 };
export const MINUTE_MS = 60_000;
/** Minutes of per-minute rows a coordinator keeps: the longest window plus the partial minute in progress. */
export const RETAINED_MINUTES = WINDOW_MINUTES["1h"] + 1;

export function minuteOf(t: number): number {
  return Math.floor(t / MINUTE_MS);
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface InstanceStats {
  id: string;
  url: string;
  requests: number;
  throughputPerSecond: number;
  errorRate: number;
  /** Of the requests this instance answered, the share that reached it after another instance's failed try. */
  failoverRate: number;
  latencyMs: Percentiles;
  /** Per minute, as the service's `series`: what this instance answered (the dashboard's per-instance charts). */
  series: SeriesPoint[];
}

export interface SeriesPoint {
  at: string;
  requests: number;
  errors: number;
  p50: number | null;
  p99: number | null;
}

/** The body of GET /_mesh/v1/services/{name}/stats (docs/api.md). */
export interface ServiceStats {
  service: string;
  window: StatsWindow;
  from: string;
  to: string;
  requests: number;
  throughputPerSecond: number;
  errorRate: number;
  failoverRate: number;
  latencyMs: Percentiles;
  upstreamLatencyMs: Percentiles;
  percentileError: string;
  instances: InstanceStats[];
  series: SeriesPoint[];
}

/** Per-minute records of one service: minute (minuteOf) → instance id → record. */
export type MinuteRecords = ReadonlyMap<number, ReadonlyMap<string, MetricsRecord>>;

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const ms = (x: number | null) => (x === null ? null : round(x, 2));

function percentiles(h: Histogram): Percentiles {
  return { p50: ms(percentile(h, 0.5)), p90: ms(percentile(h, 0.9)), p99: ms(percentile(h, 0.99)) };
}

/** One minute's point; a minute with no record (an instance that answered nothing in it) is all zeros and nulls. */
function seriesPoint(at: string, r: MetricsRecord | undefined): SeriesPoint {
  if (r === undefined) return { at, requests: 0, errors: 0, p50: null, p99: null };
  return { at, requests: requestCount(r), errors: errorCount(r), p50: ms(percentile(r.client, 0.5)), p99: ms(percentile(r.client, 0.99)) };
}

/**
 * Six significant digits, not six decimals: at a load balancer's volumes a real error rate can be
 * under one in a million (3 errors in an hour at 2,800 req/s), and 0 must mean none.
 */
const ratio = (n: number, d: number) => (d === 0 ? 0 : Number((n / d).toPrecision(6)));

/**
 * The stats of one window, from the coordinator's per-minute records. A
 * window of n minutes covers the n whole minutes before the current one plus
 * the current, partial minute (so "1m" never means the few seconds since the
 * minute turned), and rates divide by that exact span. Requests that reached
 * no instance count for the service but belong to no entry of `instances`.
 */
export function computeStats(
  service: string,
  window: StatsWindow,
  now: number,
  minutes: MinuteRecords,
  instances: readonly { id: string; url: string }[],
): ServiceStats {
  const current = minuteOf(now);
  const first = current - WINDOW_MINUTES[window];
  const from = first * MINUTE_MS;
  const seconds = Math.max(1, (now - from) / 1000);
  const total = emptyRecord();
  const perInstance = new Map<string, MetricsRecord>();
  const series: SeriesPoint[] = [];
  const instanceSeries = instances.map((): SeriesPoint[] => []);
  for (let m = first; m <= current; m++) {
    const minute = emptyRecord();
    const at = new Date(m * MINUTE_MS).toISOString();
    const records = minutes.get(m);
    for (let i = 0; i < instances.length; i++) instanceSeries[i]?.push(seriesPoint(at, records?.get(instances[i]?.id ?? "")));
    for (const [id, r] of records ?? []) {
      mergeRecord(minute, r);
      let acc = perInstance.get(id);
      if (acc === undefined) {
        acc = emptyRecord();
        perInstance.set(id, acc);
      }
      mergeRecord(acc, r);
    }
    mergeRecord(total, minute);
    series.push(seriesPoint(at, minute));
  }
  const requests = requestCount(total);
  return {
    service,
    window,
    from: new Date(from).toISOString(),
    to: new Date(now).toISOString(),
    requests,
    throughputPerSecond: round(requests / seconds, 4),
    errorRate: ratio(errorCount(total), requests),
    failoverRate: ratio(total.failovers, requests),
    latencyMs: percentiles(total.client),
    upstreamLatencyMs: percentiles(total.upstream),
    percentileError: PERCENTILE_ERROR,
    instances: instances.map(({ id, url }, i) => {
      const r = perInstance.get(id);
      const n = r === undefined ? 0 : requestCount(r);
      return {
        id,
        url,
        requests: n,
        throughputPerSecond: round(n / seconds, 4),
        errorRate: r === undefined ? 0 : ratio(errorCount(r), n),
        failoverRate: r === undefined ? 0 : ratio(r.failovers, n),
        latencyMs: percentiles(r?.client ?? emptyHistogram()),
        series: instanceSeries[i] ?? [],
      };
    }),
    series,
  };
}
