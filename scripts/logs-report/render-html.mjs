// @ts-check
// `--html <file>`: one self-contained page (inline CSS and SVG, no scripts,
// no external assets) with a requests/errors chart per service and the tables.

import { pct as textPct } from "./render-text.mjs";

/** @typedef {import("./aggregate.mjs").Report} Report */

/** @param {string} s */
const esc = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** As the text report writes it ("<0.1%" for a rate too small for a decimal), escaped. @param {number} r */
const pct = (r) => esc(textPct(r));
/** @param {{ p50: number, p95: number, p99: number } | null} p */
const lat = (p) => (p === null ? "-" : `${p.p50} / ${p.p95} / ${p.p99}`);

const W = 720;
const H = 180;
const PAD = 36;

/**
 * Requests (line) and errors (red line) per bucket, on one axis.
 * @param {{ t: string, requests: number, errors: number }[]} series
 */
export function chart(series) {
  if (series.length === 0) return "";
  const max = Math.max(1, ...series.map((p) => p.requests));
  const x = (/** @type {number} */ i) => PAD + (series.length === 1 ? (W - 2 * PAD) / 2 : (i * (W - 2 * PAD)) / (series.length - 1));
  const y = (/** @type {number} */ v) => H - PAD + -((H - 2 * PAD) * v) / max;
  /** @param {(p: { requests: number, errors: number }) => number} pick */
  const line = (pick) => series.map((p, i) => `${x(i).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(" ");
  const first = series[0]?.t ?? "";
  const last = series[series.length - 1]?.t ?? "";
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="requests and errors over time">
<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#999"/>
<line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="#999"/>
<text x="${PAD - 4}" y="${PAD + 4}" text-anchor="end">${max}</text><text x="${PAD - 4}" y="${H - PAD}" text-anchor="end">0</text>
<text x="${PAD}" y="${H - 8}">${esc(first)}</text><text x="${W - PAD}" y="${H - 8}" text-anchor="end">${esc(last)}</text>
<polyline class="requests" fill="none" stroke="#2563eb" stroke-width="2" points="${line((p) => p.requests)}"/>
<polyline class="errors" fill="none" stroke="#dc2626" stroke-width="2" points="${line((p) => p.errors)}"/>
</svg>`;
}

/** @param {string[]} cells @param {string} [tag] */
const row = (cells, tag = "td") => `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join("")}</tr>`;
/** @param {{ kind: string, count: number }[]} f */
const kinds = (f) => esc(f.map((x) => `${x.kind} ×${x.count}`).join(", ") || "-");

/** @param {Report} report */
export function renderHtml(report) {
  const i = report.input;
  const sections = report.services.map((s) => {
    const coordinator = Object.entries(s.coordinatorEvents).map(([k, n]) => `${esc(k)} ×${n}`).join(", ");
    return `<section>
<h2>${esc(s.service)}</h2>
<table>${row(["requests", "errors (5xx)", "failed over", "latency p50 / p95 / p99 ms", "upstream p50 / p95 / p99 ms", "top failures"], "th")}
${row([String(s.requests), pct(s.errorRate), pct(s.failoverRate), lat(s.latencyMs), lat(s.upstreamLatencyMs), kinds(s.topFailures)])}</table>
${coordinator === "" ? "" : `<p>Coordinator events: ${coordinator}</p>`}
<p>Requests (blue) and 5xx errors (red) per ${report.bucketSeconds} s</p>
${chart(s.series)}
<table>${row(["instance", "tries", "failed tries", "answered", "errors", "failed over", "latency p50 / p95 / p99 ms", "top failures"], "th")}
${s.instances.map((x) => row([esc(x.instance), String(x.tries), pct(x.tryFailureRate), String(x.answered), pct(x.errorRate), pct(x.failoverRate), lat(x.latencyMs), kinds(x.topFailures)])).join("\n")}</table>
</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard logs report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f4f4f5}.chart text{font:11px system-ui,sans-serif;fill:#555}
</style></head><body>
<h1>Switchyard logs report</h1>
<p>${i.events} events from ${i.lines} lines in ${i.files} file(s); ${i.malformed} malformed line(s) skipped${i.unknownVersion === 0 ? "" : `; ${i.unknownVersion} event(s) of a version other than 1 skipped (this report reads version 1)`}${i.sampledLines === 0 ? "" : `; ${i.sampledLines} sampled request line(s), each counted as its weight in requests`}; ${esc(report.from ?? "-")} .. ${esc(report.to ?? "-")}</p>
${sections.join("\n")}
</body></html>
`;
}
