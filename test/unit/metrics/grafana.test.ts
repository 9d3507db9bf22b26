import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { renderPrometheus } from "../../../src/core/metrics/prometheus.js";

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(path.join(import.meta.dirname, "../../../docs/grafana/switchyard.json"), "utf8")) as {
  panels: Panel[];
  templating: { list: { name: string; query?: unknown }[] };
};
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
/** The `service` variable's query: it must name a family and a label the endpoint exposes, like the panels. */
const variableQueries = dashboard.templating.list.flatMap((v) =>
  typeof v.query === "object" && v.query !== null && "query" in v.query && typeof v.query.query === "string" ? [v.query.query] : [],
);

/** Label names per series name (`_bucket` etc. included) in an exposition with one service that has a request. */
function exposedLabels(): Map<string, Set<string>> {
  const acc = new MetricsAccumulator();
  acc.recordRequest("shop", "a", "ok", 200, 12, [{ instanceId: "a", ok: true, latencyMs: 10 }]);
  const text = renderPrometheus(
    [
      {
        service: "shop",
        totals: acc.take("shop")?.instances ?? [],
        instances: [{ id: "a", healthy: true }],
        counters: { healthChecksPassed: 1, healthChecksFailed: 1, ejections: 1, leaseExpirations: 1, retiredRetries: 0, retiredFailovers: 0 },
      },
    ],
    [],
  );
  const labels = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? /.exec(line);
    if (m?.[1] === undefined) continue;
    const set = labels.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? "").matchAll(/([a-z_]+)="/g)) if (l[1] !== undefined) set.add(l[1]);
    labels.set(m[1], set);
  }
  return labels;
}

describe("docs/grafana/switchyard.json", () => {
  it("has request rate, error rate, p99 and healthy instances panels", () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase());
    for (const want of ["request rate", "error rate", "p99", "healthy instances"]) expect(titles.some((t) => t.includes(want))).toBe(true);
  });

  it("queries only metric families the endpoint exposes", () => {
    const exposed = new Set(
      renderPrometheus([], [])
        .split("\n")
        .filter((l) => l.startsWith("# TYPE "))
        .map((l) => l.split(" ")[2]),
    );
    const used = new Set(exprs.flatMap((e) => e.match(/switchyard_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, "")));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(exposed).toContain(name);
  });

  it("selects, groups and lists values only by labels the series it names carry", () => {
    const labels = exposedLabels();
    const problems: string[] = [];
    for (const e of [...exprs, ...variableQueries]) {
      const names = e.match(/switchyard_[a-z_]+/g) ?? [];
      for (const n of names) if (!labels.has(n)) problems.push(`${n} is not a series the endpoint writes (${e})`);
      const carried = (l: string) => l === "le" || names.some((n) => labels.get(n)?.has(l) === true);
      for (const sel of e.matchAll(/(switchyard_[a-z_]+)\{([^}]*)\}/g)) {
        for (const m of (sel[2] ?? "").matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) {
          if (m[1] !== undefined && labels.get(sel[1] ?? "")?.has(m[1]) !== true) problems.push(`${sel[1] ?? ""} has no label ${m[1]} (${e})`);
        }
      }
      for (const by of e.matchAll(/by \(([^)]*)\)/g)) for (const l of (by[1] ?? "").split(",").map((x) => x.trim())) if (!carried(l)) problems.push(`by (${l}): no such label (${e})`);
      for (const lv of e.matchAll(/label_values\((switchyard_[a-z_]+), *([a-z_]+)\)/g)) if (!carried(lv[2] ?? "")) problems.push(`label_values: no label ${lv[2] ?? ""} (${e})`);
    }
    expect(variableQueries.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("has PromQL that promtool accepts (Grafana's variables replaced), when promtool is installed", (ctx) => {
    if (spawnSync("promtool", ["--version"]).error !== undefined) {
      console.log("skipped: promtool is not installed (Debian: apt-get install prometheus)");
      ctx.skip();
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), "grafana-promql-"));
    try {
      const rules = exprs.map((e, i) => `      - record: switchyard:panel_${String(i)}\n        expr: ${JSON.stringify(e.replaceAll("$__rate_interval", "5m").replaceAll("$service", ".*"))}`);
      const file = path.join(dir, "rules.yml");
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
      const check = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
      expect(check.stderr).toBe("");
      expect(check.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows a service that answered no 5xx at an error rate of 0, not as no data (PromQL evaluated by promtool)", (ctx) => {
    if (spawnSync("promtool", ["--version"]).error !== undefined) {
      console.log("skipped: promtool is not installed (Debian: apt-get install prometheus)");
      ctx.skip();
      return;
    }
    const panel = dashboard.panels.find((p) => p.title.toLowerCase().includes("error rate"));
    const expr = panel?.targets[0]?.expr.replaceAll("$__rate_interval", "5m").replaceAll("$service", ".*");
    expect(expr).toBeDefined();
    const dir = mkdtempSync(path.join(tmpdir(), "grafana-eval-"));
    try {
      writeFileSync(path.join(dir, "rules.yml"), `groups:\n  - name: dashboard\n    rules:\n      - record: error_rate\n        expr: ${JSON.stringify(expr)}\n`);
      // Scraped every 30 s for 10 minutes: shop answers 1 request/s, all 2xx; cart 1/s of 2xx and 0.1/s of 5xx.
      const series = (labels: string, perScrape: number) => `      - series: 'switchyard_requests_total{${labels}}'\n        values: '0+${String(perScrape)}x20'`;
      writeFileSync(
        path.join(dir, "test.yml"),
        [
          "rule_files: [rules.yml]",
          "evaluation_interval: 30s",
          "tests:",
          "  - interval: 30s",
          "    input_series:",
          series('service="shop",instance="a",outcome="ok",code_class="2xx"', 30),
          series('service="cart",instance="b",outcome="ok",code_class="2xx"', 30),
          series('service="cart",instance="b",outcome="upstream_error",code_class="5xx"', 3),
          "    promql_expr_test:",
          "      - expr: error_rate",
          "        eval_time: 10m",
          "        exp_samples:",
          "          - labels: 'error_rate{service=\"cart\"}'",
          `            value: ${String(3 / 33)}`,
          "          - labels: 'error_rate{service=\"shop\"}'",
          "            value: 0",
          "",
        ].join("\n"),
      );
      const run = spawnSync("promtool", ["test", "rules", "test.yml"], { cwd: dir, encoding: "utf8" });
      expect(run.stdout + run.stderr).toContain("SUCCESS");
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
