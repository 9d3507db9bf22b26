import { spawnSync } from "node:child_process";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { escapeLabelValue, renderPrometheus, type ServiceMetrics } from "../../../src/core/metrics/prometheus.js";

function service(name: string, fill: (acc: MetricsAccumulator) => void): ServiceMetrics {
  const acc = new MetricsAccumulator();
  fill(acc);
  return {
    service: name,
    totals: acc.take(name)?.instances ?? [],
    instances: [
      { id: "a", healthy: true },
      { id: "b", healthy: false },
    ],
    counters: { healthChecksPassed: 7, healthChecksFailed: 2, ejections: 1, leaseExpirations: 3, retiredRetries: 0, retiredFailovers: 0 },
  };
}

const shop = service("shop", (acc) => {
  for (let i = 0; i < 3; i++) acc.recordRequest("shop", "a", "ok", 200, 12, [{ instanceId: "a", ok: true, latencyMs: 10 }]);
  acc.recordRequest("shop", "a", "failed_over", 200, 2500, [
    { instanceId: "b", ok: false, latencyMs: 2000 },
    { instanceId: "a", ok: true, latencyMs: 400 },
  ]);
  acc.recordRequest("shop", null, "no_healthy_instance", 503, 0, []);
  acc.recordRequest("shop", "b", "weird \"outcome\"\\\nname", 0, 1e9, []);
});
const cart = service("cart", (acc) => acc.recordRequest("cart", "a", "ok", 301, 1, []));
const text = renderPrometheus([shop, cart], ["down-svc"]);

function family(name: string) {
  const f = parsePrometheusTextFormat(text).find((x) => x.name === name);
  if (f === undefined) throw new Error(`no family ${name}`);
  return f;
}

describe("renderPrometheus", () => {
  it("parses with an exposition-format parser, every family once with its TYPE", () => {
    const families = parsePrometheusTextFormat(text);
    const names = families.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.fromEntries(families.map((f) => [f.name, f.type]))).toEqual({
      switchyard_requests_total: "COUNTER",
      switchyard_request_duration_seconds: "HISTOGRAM",
      switchyard_retries_total: "COUNTER",
      switchyard_failovers_total: "COUNTER",
      switchyard_instance_healthy: "GAUGE",
      switchyard_instance_ejections_total: "COUNTER",
      switchyard_health_checks_total: "COUNTER",
      switchyard_lease_expirations_total: "COUNTER",
      switchyard_service_up: "GAUGE",
      switchyard_scrape_errors: "GAUGE",
    });
    expect(text.endsWith("\n")).toBe(true);
  });

  it("labels requests by service, instance, outcome and status class, escaping label values", () => {
    const samples = family("switchyard_requests_total").metrics;
    const find = (labels: Record<string, string>) => samples.find((m) => JSON.stringify(m.labels) === JSON.stringify(labels))?.value;
    expect(find({ service: "shop", instance: "a", outcome: "ok", code_class: "2xx" })).toBe("3");
    expect(find({ service: "shop", instance: "a", outcome: "failed_over", code_class: "2xx" })).toBe("1");
    expect(find({ service: "shop", instance: "none", outcome: "no_healthy_instance", code_class: "5xx" })).toBe("1");
    expect(find({ service: "shop", instance: "b", outcome: 'weird "outcome"\\\nname', code_class: "none" })).toBe("1");
    expect(find({ service: "cart", instance: "a", outcome: "ok", code_class: "3xx" })).toBe("1");
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it("writes histograms in seconds, cumulative, with +Inf, _sum and _count, for client and upstream latency", () => {
    // The npm parser folds a labelled histogram's series into one (its flattenMetrics), so
    // these values are read from the sample lines; promtool below checks the structure.
    const sample = (series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : line.slice(series.length + 1);
    };
    const shopA = 'service="shop",instance="a",kind="client"';
    expect(sample(`switchyard_request_duration_seconds_count{${shopA}}`)).toBe("4");
    expect(Number(sample(`switchyard_request_duration_seconds_sum{${shopA}}`))).toBeCloseTo((3 * 12 + 2500) / 1000, 9);
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopA},le="0.0113"}`)).toBe("0");
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopA},le="0.0135"}`)).toBe("3");
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopA},le="2.44"}`)).toBe("3");
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopA},le="2.9"}`)).toBe("4");
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopA},le="+Inf"}`)).toBe("4");
    const bucketLines = text.split("\n").filter((l) => l.startsWith(`switchyard_request_duration_seconds_bucket{${shopA},`));
    expect(bucketLines).toHaveLength(66);
    const counts = bucketLines.map((l) => Number(l.split(" ")[1]));
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1] ?? Infinity);
    expect(sample('switchyard_request_duration_seconds_count{service="shop",instance="b",kind="upstream"}')).toBe("1");
    // A slow outlier lands in +Inf only.
    const shopB = 'service="shop",instance="b",kind="client"';
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopB},le="65.5"}`)).toBe("0");
    expect(sample(`switchyard_request_duration_seconds_bucket{${shopB},le="+Inf"}`)).toBe("1");
    expect(family("switchyard_request_duration_seconds").type).toBe("HISTOGRAM");
  });

  it("reports retries, failovers, health, the coordinator's counters and skipped services", () => {
    const value = (name: string, labels: Record<string, string>) =>
      family(name).metrics.find((m) => JSON.stringify(m.labels ?? {}) === JSON.stringify(labels))?.value;
    expect(value("switchyard_retries_total", { service: "shop" })).toBe("1");
    expect(value("switchyard_failovers_total", { service: "shop" })).toBe("1");
    expect(value("switchyard_instance_healthy", { service: "shop", instance: "a" })).toBe("1");
    expect(value("switchyard_instance_healthy", { service: "shop", instance: "b" })).toBe("0");
    expect(value("switchyard_health_checks_total", { service: "shop", result: "pass" })).toBe("7");
    expect(value("switchyard_health_checks_total", { service: "shop", result: "fail" })).toBe("2");
    expect(value("switchyard_instance_ejections_total", { service: "shop" })).toBe("1");
    expect(value("switchyard_lease_expirations_total", { service: "cart" })).toBe("3");
    expect(value("switchyard_service_up", { service: "down-svc" })).toBe("0");
    expect(value("switchyard_service_up", { service: "cart" })).toBe("1");
    expect(value("switchyard_scrape_errors", {})).toBe("1");
  });

  it("passes `promtool check metrics` (Prometheus' own linter) when promtool is installed", (ctx) => {
    const probe = spawnSync("promtool", ["--version"], { encoding: "utf8" });
    if (probe.error !== undefined) {
      console.log("skipped: promtool is not installed (Debian: apt-get install prometheus); the npm parser checks above still ran");
      ctx.skip();
      return;
    }
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(`${check.stdout}${check.stderr}`).toBe("");
    expect(check.status).toBe(0);
    const empty = spawnSync("promtool", ["check", "metrics"], { input: renderPrometheus([], []), encoding: "utf8" });
    expect(empty.status).toBe(0);
  });
});
