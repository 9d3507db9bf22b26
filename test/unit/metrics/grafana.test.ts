import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderPrometheus } from "../../../src/core/metrics/prometheus.js";

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(path.join(import.meta.dirname, "../../../docs/grafana/switchyard.json"), "utf8")) as { panels: Panel[] };
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));

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
});
