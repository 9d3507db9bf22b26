import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../../../src/core/metrics/prometheus.js";

/**
 * The scrape config docs/analytics.md gives, run by a real Prometheus server
 * against the exposition, then asked what it stored. The series carry a label
 * named `instance` (the mesh's instance id), which Prometheus also attaches to
 * every target; unless the job honours the scraped labels, it renames the
 * mesh's to `exported_instance` and puts the target's host in `instance`, so
 * every per-instance query written from the docs' label table finds nothing.
 * Skipped when no prometheus binary is installed (Debian: apt-get install prometheus).
 */

const PROMETHEUS = "/usr/bin/prometheus";
const TOKEN = "scrape-test-token";
const INSTANCE = "c268f781ab94296e";
const hasPrometheus = spawnSync(PROMETHEUS, ["--version"]).error === undefined;

/** The first ```yaml block after the docs' "Scrape config" paragraph: the config a reader copies. */
function documentedScrapeConfig(): string {
  const docs = readFileSync(path.join(import.meta.dirname, "../../../docs/analytics.md"), "utf8");
  const from = docs.indexOf("Scrape config");
  const block = /```yaml\n([\s\S]*?)```/.exec(docs.slice(from));
  if (from < 0 || block?.[1] === undefined) throw new Error("docs/analytics.md has no scrape config block");
  return block[1];
}

/** What the mesh's /metrics would answer for one service with one instance that served a request. */
function exposition(): string {
  const acc = new MetricsAccumulator();
  acc.recordRequest("shop", INSTANCE, "ok", 200, 12, [{ instanceId: INSTANCE, ok: true, latencyMs: 10 }]);
  return renderPrometheus(
    [
      {
        service: "shop",
        totals: acc.take("shop")?.instances ?? [],
        instances: [{ id: INSTANCE, healthy: true }],
        counters: { healthChecksPassed: 1, healthChecksFailed: 0, ejections: 0, leaseExpirations: 0, retiredRetries: 0, retiredFailovers: 0 },
      },
    ],
    [],
  );
}

let dir = "";
let server: Server | undefined;
let prometheus: ChildProcess | undefined;
let api = "";

/** A free loopback port: bound, read and released (Prometheus needs one named up front). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  if (!hasPrometheus) return;
  dir = mkdtempSync(path.join(tmpdir(), "prometheus-scrape-"));
  const body = exposition();
  server = createServer((req, res) => {
    const ok = req.url === "/_mesh/v1/metrics" && req.headers.authorization === `Bearer ${TOKEN}`;
    res.writeHead(ok ? 200 : 401, { "content-type": ok ? PROMETHEUS_CONTENT_TYPE : "text/plain" });
    res.end(ok ? body : "no");
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const target = `127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  writeFileSync(path.join(dir, "token"), TOKEN);
  // The documented job as written, but over plain HTTP to this server, with its token file and a fast interval.
  const config = documentedScrapeConfig()
    .replace("scheme: https", "scheme: http")
    .replace(/scrape_interval: \S+/, "scrape_interval: 1s")
    .replace(/scrape_timeout: \S+/, "scrape_timeout: 1s")
    .replace(/credentials_file: \S+/, `credentials_file: ${path.join(dir, "token")}`)
    .replace('targets: ["mesh.example.com"]', `targets: ["${target}"]`);
  expect(config).toContain(target);
  writeFileSync(path.join(dir, "prometheus.yml"), config);
  const port = await freePort();
  api = `http://127.0.0.1:${String(port)}`;
  prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${String(port)}`],
    { stdio: "ignore" },
  );
}, 30_000);

afterAll(async () => {
  prometheus?.kill();
  if (server !== undefined) await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** The label sets Prometheus holds for a metric, once it has scraped it (polled for up to 20 s). */
async function seriesOf(metric: string): Promise<Record<string, string>[]> {
  for (let waited = 0; waited < 20_000; waited += 250) {
    try {
      const res = await fetch(`${api}/api/v1/series?match[]=${encodeURIComponent(metric)}`);
      const body = (await res.json()) as { data?: Record<string, string>[] };
      if (body.data !== undefined && body.data.length > 0) return body.data;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Prometheus stored no ${metric} within 20 s`);
}

describe.skipIf(!hasPrometheus)("the documented scrape config, in a real Prometheus", () => {
  it("keeps the mesh's instance label as the instance id, as the metric table names it", async () => {
    const [healthy] = await seriesOf("switchyard_instance_healthy");
    expect(healthy?.["instance"]).toBe(INSTANCE);
    expect(healthy?.["exported_instance"]).toBeUndefined();
    const requests = await seriesOf(`switchyard_requests_total{service="shop"}`);
    expect(requests.map((s) => s["instance"])).toEqual([INSTANCE]);
    // Series without the label still get the target's, so nothing is lost that said which mesh answered.
    const [retries] = await seriesOf("switchyard_retries_total");
    expect(retries?.["instance"]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(retries?.["job"]).toBe("switchyard");
  }, 30_000);
});
