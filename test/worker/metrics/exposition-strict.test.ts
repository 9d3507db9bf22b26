import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { control, createService, mesh, originUrls, resetOrigins, serviceWith, uniqueName } from "../helpers.js";
import dashboard from "../../../docs/grafana/switchyard.json";
import { renderPrometheus } from "../../../src/core/metrics/prometheus.js";
import { parseStrict, seriesValues, type Family } from "./strict-exposition.js";

const READER = { authorization: "Bearer test-metrics-token" };

afterEach(async () => {
  await resetOrigins();
});

/** Calls the Worker and waits for its waitUntil work, so the batched report (and its metrics delta) has landed. */
async function call(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://mesh.test${path}`), env, ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res;
}

async function scrape(): Promise<string> {
  const res = await mesh("/_mesh/v1/metrics", { headers: READER });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return await res.text();
}

/**
 * What the dashboard's PromQL asks of a real scrape that the scrape does not have: a series name it
 * does not write, a label it does not carry, an exact label value it never takes (a typo such as
 * `code_class="5XX"` draws an empty panel, not an error), rate() or increase() over a gauge, and
 * histogram_quantile over anything but `_bucket` summed by `le`.
 */
function dashboardProblems(families: Map<string, Family>): string[] {
  const series = new Map<string, { type: string; labels: Map<string, Set<string>> }>();
  for (const f of families.values()) {
    for (const s of f.samples) {
      const entry = series.get(s.name) ?? { type: f.type, labels: new Map<string, Set<string>>() };
      series.set(s.name, entry);
      for (const [k, v] of Object.entries(s.labels)) entry.labels.set(k, (entry.labels.get(k) ?? new Set()).add(v));
    }
  }
  const exprs = [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => ("query" in v && typeof v.query === "object" ? [v.query.query] : [])),
  ];
  const problems: string[] = [];
  for (const e of exprs) {
    const names = e.match(/switchyard_[a-z_]+/g) ?? [];
    for (const n of names) if (!series.has(n)) problems.push(`${n}: not in the scrape (${e})`);
    for (const sel of e.matchAll(/(switchyard_[a-z_]+)\{([^}]*)\}/g)) {
      const labels = series.get(sel[1] ?? "")?.labels;
      for (const m of (sel[2] ?? "").matchAll(/([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
        const [, label = "", op = "", value = ""] = m;
        const values = labels?.get(label);
        if (values === undefined) problems.push(`${sel[1] ?? ""} has no label ${label} (${e})`);
        else if (op === "=" && !values.has(value)) problems.push(`${sel[1] ?? ""}{${label}="${value}"} never occurs; values: ${[...values].join(", ")} (${e})`);
      }
    }
    for (const by of e.matchAll(/by \(([^)]*)\)/g)) {
      for (const l of (by[1] ?? "").split(",").map((x) => x.trim())) {
        if (!names.some((n) => series.get(n)?.labels.has(l) === true)) problems.push(`by (${l}): no series here carries it (${e})`);
      }
    }
    for (const r of e.matchAll(/(rate|increase)\((switchyard_[a-z_]+)/g)) {
      const n = r[2] ?? "";
      const type = series.get(n)?.type;
      if (!(type === "counter" || (type === "histogram" && n.endsWith("_bucket")))) problems.push(`${r[1] ?? ""}(${n}) over a ${type ?? "missing"} (${e})`);
    }
    for (const q of e.matchAll(/histogram_quantile\([^,]+,\s*sum by \(([^)]*)\) \(rate\((switchyard_[a-z_]+)/g)) {
      if (!(q[2] ?? "").endsWith("_bucket") || !(q[1] ?? "").split(",").map((x) => x.trim()).includes("le")) problems.push(`histogram_quantile not over _bucket by le (${e})`);
    }
    if (e.includes("histogram_quantile") && !/histogram_quantile\([^,]+,\s*sum by \(/.test(e)) problems.push(`histogram_quantile of an unexpected shape (${e})`);
  }
  return problems;
}

describe("the strict exposition reader", () => {
  it("finds each rule a text breaks, so a clean result means something", () => {
    const bad = (text: string) => parseStrict(text).problems;
    expect(bad("# TYPE a_total counter\na_total 1\n")).toEqual([]);
    expect(bad("# TYPE a_total counter\n# TYPE a_total counter\na_total 1\n")).toEqual([expect.stringContaining("a second TYPE")]);
    expect(bad("# TYPE a_total counter\na_total{s=\"x\"} 1\n# TYPE b gauge\nb 1\na_total{s=\"y\"} 1\n")).toEqual([expect.stringContaining("interleaved")]);
    expect(bad("# TYPE a_total counter\na_total{s=\"x\\t\"} 1\n")).toEqual([expect.stringContaining("escape")]);
    expect(bad("# TYPE a_total counter\na_total{s=\"x\"} 1\na_total{s=\"x\"} 2\n")).toEqual([expect.stringContaining("twice")]);
    expect(bad("# TYPE g gauge\ng NaN\n")).toEqual([expect.stringContaining("is NaN")]);
    expect(bad("# TYPE 1g gauge\n")).toEqual([expect.stringContaining("bad metric name")]);
    const h = (b: string) => `# TYPE h histogram\n${b}h_sum 1\nh_count 2\n`;
    expect(bad(h('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'))).toEqual([]);
    expect(bad(h('h_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\n'))).toEqual([expect.stringContaining("not cumulative")]);
    expect(bad(h('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 3\n'))).toEqual([expect.stringContaining("is not _count")]);
    expect(bad(h('h_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'))).toEqual([expect.stringContaining("not above")]);
    expect(bad(h('h_bucket{le="1"} 2\n'))).toEqual([expect.stringContaining('end with le="+Inf"')]);
  });
});

describe("renderPrometheus at its edges", () => {
  it("is valid with no service, and with only skipped ones", () => {
    for (const failed of [[], ["a", "b"]]) {
      const { families, problems } = parseStrict(renderPrometheus([], failed));
      expect(problems).toEqual([]);
      expect(families.get("switchyard_scrape_errors")?.samples.map((x) => x.value)).toEqual([failed.length]);
    }
  });
});

describe("GET /_mesh/v1/metrics, read strictly over real traffic", () => {
  it("is valid 0.0.4 with several services, failovers, upstream errors and a service with nothing healthy, and its counters never go back", async () => {
    const [, bad = ""] = originUrls();
    // shop: two instances, one answering 503 (failovers). solo: only that instance (upstream errors).
    // empty: no instance at all (no_healthy_instance). fine: one good instance. quiet: no traffic.
    const shop = await serviceWith(2);
    const solo = uniqueName("solo");
    const soloToken = (await createService(solo, { routes: { pathPrefixes: [`/${solo}`] } })).token;
    await mesh(`/_mesh/v1/services/${solo}/instances`, {
      method: "POST",
      headers: { authorization: `Bearer ${soloToken}`, "content-type": "application/json" },
      body: JSON.stringify({ url: bad }),
    });
    const empty = uniqueName("empty");
    await createService(empty, { routes: { pathPrefixes: [`/${empty}`] } });
    const fine = await serviceWith(1);
    const quiet = await serviceWith(1);
    await control(bad, { status: 503 });

    const traffic = async () => {
      for (let i = 0; i < 4; i++) expect((await call(`/${shop.name}/x`)).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await call(`/${solo}/x`)).status).toBeGreaterThanOrEqual(500);
      expect((await call(`/${empty}/x`)).status).toBe(503);
      expect((await call(`/${fine.name}/x`)).status).toBe(200);
    };
    await traffic();
    const first = parseStrict(await scrape());
    expect(first.problems).toEqual([]);
    await traffic();
    const second = parseStrict(await scrape());
    expect(second.problems).toEqual([]);

    const services = new Set([...second.families.values()].flatMap((f) => f.samples.map((s) => s.labels.service)));
    for (const name of [shop.name, solo, empty, fine.name, quiet.name]) expect(services).toContain(name);
    const outcomes = new Set(second.families.get("switchyard_requests_total")?.samples.filter((s) => [shop.name, solo, empty, fine.name].includes(s.labels.service ?? "")).map((s) => s.labels.outcome));
    expect(outcomes).toEqual(new Set(["ok", "failed_over", "upstream_error", "no_healthy_instance"]));

    const before = seriesValues(first.families);
    const regressed: string[] = [];
    for (const [key, now] of seriesValues(second.families)) {
      const then = before.get(key);
      if (then !== undefined && (now.type === "counter" || now.type === "histogram") && now.value < then.value) regressed.push(`${key}: ${String(then.value)} -> ${String(now.value)}`);
    }
    expect(regressed).toEqual([]);

    // docs/grafana/switchyard.json asks only for what this scrape has.
    expect(dashboardProblems(second.families)).toEqual([]);
  }, 60_000);
});
