import { BUCKET_BOUNDS_MS } from "./buckets.js";
import type { Histogram } from "./histogram.js";
import { NO_INSTANCE, splitRequestKey, type MetricsRecord } from "./record.js";

/** The exposition format's media type (Prometheus text format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Counts the coordinator keeps itself (not from routers' deltas), running totals since the service's object was created. */
export interface CoordinatorCounters {
  healthChecksPassed: number;
  healthChecksFailed: number;
  ejections: number;
  leaseExpirations: number;
  /**
   * Retries and failovers of instances whose totals were pruned when they left. The service-wide
   * counters are these plus the members' totals, so an instance leaving never takes them backwards
   * (Prometheus would read the drop as a reset and rate() would count the whole total again).
   */
  retiredRetries: number;
  retiredFailovers: number;
}

/** One service as a scrape sees it: its coordinator's running totals. */
export interface ServiceMetrics {
  service: string;
  totals: { instance: string; record: MetricsRecord }[];
  instances: { id: string; healthy: boolean }[];
  counters: CoordinatorCounters;
}

/** A label value per the text format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: readonly (readonly [string, string])[]): string {
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** Go's float formatting as Prometheus writes it: integers plain, the rest shortest round-trip, infinities as ±Inf. */
function num(x: number): string {
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  if (Number.isNaN(x)) return "NaN";
  return String(x);
}

/** Bucket bounds in seconds, three significant digits like the millisecond layout they come from. */
const LE_SECONDS = BUCKET_BOUNDS_MS.map((b) => String(Number((b / 1000).toPrecision(3))));

const instanceLabel = (id: string) => (id === NO_INSTANCE ? "none" : id);

class Exposition {
  readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, pairs: readonly (readonly [string, string])[], value: number): void {
    this.lines.push(`${name}${pairs.length === 0 ? "" : labels(pairs)} ${num(value)}`);
  }

  histogram(name: string, pairs: readonly (readonly [string, string])[], h: Histogram): void {
    let cumulative = 0;
    for (let i = 0; i < LE_SECONDS.length; i++) {
      cumulative += h.counts[i] ?? 0;
      this.sample(`${name}_bucket`, [...pairs, ["le", LE_SECONDS[i] ?? "+Inf"]], cumulative);
    }
    cumulative += h.counts[LE_SECONDS.length] ?? 0;
    this.sample(`${name}_bucket`, [...pairs, ["le", "+Inf"]], cumulative);
    this.sample(`${name}_sum`, pairs, h.sumMs / 1000);
    this.sample(`${name}_count`, pairs, cumulative);
  }
}

/**
 * Renders every scraped service in the Prometheus text format, one metric
 * family at a time (a family's samples must be contiguous). Names follow the
 * Prometheus conventions: base units (seconds), `_total` counters,
 * `_bucket`/`_sum`/`_count` histograms. `failed` lists services whose
 * coordinator did not answer: they show as switchyard_service_up 0 and count
 * in switchyard_scrape_errors, so one slow object never fails the scrape.
 */
export function renderPrometheus(services: readonly ServiceMetrics[], failed: readonly string[]): string {
  const out = new Exposition();
  out.family("switchyard_requests_total", "counter", "Proxied requests by the instance that answered last, outcome and status class.");
  for (const s of services) {
    for (const { instance, record } of s.totals) {
      for (const [key, n] of Object.entries(record.requests)) {
        const { outcome, codeClass } = splitRequestKey(key);
        out.sample("switchyard_requests_total", [["service", s.service], ["instance", instanceLabel(instance)], ["outcome", outcome], ["code_class", codeClass]], n);
      }
    }
  }
  out.family("switchyard_request_duration_seconds", "histogram", "Request latency: kind=client is what the client saw, kind=upstream one try's time to the origin's response headers.");
  for (const s of services) {
    for (const { instance, record } of s.totals) {
      const base = [["service", s.service], ["instance", instanceLabel(instance)]] as const;
      out.histogram("switchyard_request_duration_seconds", [...base, ["kind", "client"]], record.client);
      out.histogram("switchyard_request_duration_seconds", [...base, ["kind", "upstream"]], record.upstream);
    }
  }
  out.family("switchyard_retries_total", "counter", "Tries beyond the first of each request.");
  for (const s of services) out.sample("switchyard_retries_total", [["service", s.service]], s.counters.retiredRetries + sum(s, (r) => r.retries));
  out.family("switchyard_failovers_total", "counter", "Requests answered by another instance after a failed try.");
  for (const s of services) out.sample("switchyard_failovers_total", [["service", s.service]], s.counters.retiredFailovers + sum(s, (r) => r.failovers));
  out.family("switchyard_instance_healthy", "gauge", "1 when the instance is active, healthy and not ejected, else 0.");
  for (const s of services) for (const i of s.instances) out.sample("switchyard_instance_healthy", [["service", s.service], ["instance", i.id]], i.healthy ? 1 : 0);
  out.family("switchyard_instance_ejections_total", "counter", "Passive (outlier) ejections of instances.");
  for (const s of services) out.sample("switchyard_instance_ejections_total", [["service", s.service]], s.counters.ejections);
  out.family("switchyard_health_checks_total", "counter", "Active health checks by result.");
  for (const s of services) {
    out.sample("switchyard_health_checks_total", [["service", s.service], ["result", "pass"]], s.counters.healthChecksPassed);
    out.sample("switchyard_health_checks_total", [["service", s.service], ["result", "fail"]], s.counters.healthChecksFailed);
  }
  out.family("switchyard_lease_expirations_total", "counter", "Instances whose lease ran out without a heartbeat.");
  for (const s of services) out.sample("switchyard_lease_expirations_total", [["service", s.service]], s.counters.leaseExpirations);
  out.family("switchyard_service_up", "gauge", "1 when this scrape read the service's coordinator, 0 when it was skipped.");
  for (const s of services) out.sample("switchyard_service_up", [["service", s.service]], 1);
  for (const name of failed) out.sample("switchyard_service_up", [["service", name]], 0);
  out.family("switchyard_scrape_errors", "gauge", "Services this scrape skipped: their coordinator failed or timed out, or the scrape had reached its 500 services (scrape in shards past that).");
  out.sample("switchyard_scrape_errors", [], failed.length);
  return `${out.lines.join("\n")}\n`;
}

function sum(s: ServiceMetrics, pick: (r: MetricsRecord) => number): number {
  let n = 0;
  for (const t of s.totals) n += pick(t.record);
  return n;
}
