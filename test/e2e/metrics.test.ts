import { spawnSync } from "node:child_process";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, api, createService, load, startHarness, until, type Harness } from "./harness.js";

interface Stats {
  requests: number;
  errorRate: number;
  failoverRate: number;
  latencyMs: { p50: number | null; p99: number | null };
  upstreamLatencyMs: { p50: number | null };
  instances: { id: string; requests: number; failoverRate: number }[];
  series: { requests: number }[];
}

/**
 * The metrics pipeline over real sockets, in the deployable bundle: routers'
 * deltas reach the coordinator with the outcome reports, the stats endpoint
 * and the Prometheus scrape agree with the traffic sent, and the scrape is
 * valid exposition text for a real parser (and for promtool, when installed).
 */
describe("end to end: metrics", () => {
  let h: Harness;
  const TOTAL = 120;

  beforeAll(async () => {
    h = await startHarness(2);
    await createService(h, "metered", { routes: { pathPrefixes: ["/metered"] } });
    const bad = h.origins[1];
    if (bad === undefined) throw new Error("no origin");
    // One origin answers 503 to everything: its requests fail over to the other.
    await fetch(`${bad.url}/__control`, { method: "POST", body: JSON.stringify({ status: 503 }) }).then((r) => r.text());
    const r = await load(`${h.mesh.url}/metered/items`, TOTAL, 8);
    expect(r.errors).toEqual([]);
  });

  afterAll(async () => {
    await h.close();
  });

  it("serves stats that count every request, with failovers and percentiles", async () => {
    const seen: { stats?: Stats } = {};
    // Reports are batched: successes flush within about a second.
    await until("stats to count every request", 10_000, async () => {
      seen.stats = (await api<Stats>(h, "GET", "/_mesh/v1/services/metered/stats?window=1m")).body;
      return seen.stats.requests === TOTAL;
    });
    const s = seen.stats;
    if (s === undefined) throw new Error("no stats read");
    expect(s.errorRate).toBe(0);
    expect(s.failoverRate).toBeGreaterThan(0);
    expect(s.latencyMs.p50).not.toBeNull();
    expect(s.upstreamLatencyMs.p50).not.toBeNull();
    expect(s.instances.reduce((n, i) => n + i.requests, 0)).toBe(TOTAL);
    // Per instance, a share of what it answered: the failed-over requests are all answered by the healthy origin.
    expect(s.instances.reduce((n, i) => n + i.failoverRate * i.requests, 0)).toBeCloseTo(s.failoverRate * s.requests, 2);
    expect(s.instances.filter((i) => i.failoverRate > 0)).toHaveLength(1);
    expect(s.series.reduce((n, p) => n + p.requests, 0)).toBe(TOTAL);
  });

  it("serves a Prometheus scrape that parses and agrees with the traffic", async () => {
    const res = await fetch(`${h.mesh.url}/_mesh/v1/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const families = parsePrometheusTextFormat(text);
    const requests = families.find((f) => f.name === "switchyard_requests_total");
    const served = (requests?.metrics ?? []).filter((m) => m.labels?.service === "metered").reduce((n, m) => n + Number(m.value), 0);
    expect(served).toBe(TOTAL);
    const failovers = families.find((f) => f.name === "switchyard_failovers_total")?.metrics.find((m) => m.labels?.service === "metered");
    expect(Number(failovers?.value)).toBeGreaterThan(0);
    const clientCounts = text
      .split("\n")
      .filter((l) => l.startsWith('switchyard_request_duration_seconds_count{service="metered",') && l.includes('kind="client"'))
      .reduce((n, l) => n + Number(l.split(" ")[1]), 0);
    expect(clientCounts).toBe(TOTAL);

    if (spawnSync("promtool", ["--version"]).error !== undefined) {
      console.log("skipped promtool check: promtool is not installed (Debian: apt-get install prometheus)");
      return;
    }
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(`${check.stdout}${check.stderr}`).toBe("");
    expect(check.status).toBe(0);
  });
});
