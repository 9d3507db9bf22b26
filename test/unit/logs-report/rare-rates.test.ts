import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEventLine } from "../../../src/core/events/request-line.js";
import { buildReport } from "../../../scripts/logs-report/report.mjs";
import { renderHtml } from "../../../scripts/logs-report/render-html.mjs";
import { renderText } from "../../../scripts/logs-report/render-text.mjs";
import { line } from "./request-lines.js";

/**
 * The text and HTML reports show the error and failover rates as
 * percentages with one decimal, and no count beside them: a rate that is not
 * zero must not print as 0.0%.
 */

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rare-rates-"));
});
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("logs:report's rates when they are rare", () => {
  it("prints one error and one failover in 10,000 requests as under 0.1%, not 0.0%; none as 0.0%", async () => {
    const lines = [
      ...Array.from({ length: 9_998 }, () => requestEventLine(line())),
      requestEventLine(line({ status: 502, outcome: "upstream_error", failures: ["502"] })),
      requestEventLine(line({ outcome: "failed_over", attempts: 2, tried: ["b", "a"], failures: ["reset"] })),
      requestEventLine(line({ service: "quiet" })),
    ];
    const file = path.join(dir, "rare.ndjson");
    await writeFile(file, lines.join("\n") + "\n");
    const r = await buildReport([file], { threads: 1, progress: { threshold: Infinity } });
    const shop = r.services.find((s) => s.service === "shop");
    expect([shop?.requests, shop?.errors, shop?.failovers]).toEqual([10_000, 1, 1]);

    const text = renderText(r).split("\n");
    const row = (service: string) => text[text.indexOf(`service ${service}`) + 2] ?? "";
    expect(row("shop").split(/\s{2,}/).slice(0, 3)).toEqual(["10000", "<0.1%", "<0.1%"]);
    expect(row("quiet").split(/\s{2,}/).slice(0, 3)).toEqual(["1", "0.0%", "0.0%"]);
    expect(renderHtml(r)).toContain("<td>10000</td><td>&#60;0.1%</td><td>&#60;0.1%</td>");
  });
});
