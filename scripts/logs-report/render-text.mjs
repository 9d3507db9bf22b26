// @ts-check
// The default output: one table per service, its instances below it, then a
// sparkline of requests per bucket.

/** @typedef {import("./aggregate.mjs").Report} Report */

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts the sequences that
 * clear the screen, retitle the window or write the clipboard), DEL, C1 controls (U+009B is a CSI
 * of its own) and the bidi embeddings, overrides and isolates that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are escaped.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Anything read from a log line, as text that is safe to print: every control character as a
 * `\uXXXX` escape (`\r`, `\n` and `\t` included: one would break the table), the rest as it is.
 * Log lines are input from whoever can write to the Logpush job, not only the mesh.
 * @param {string} s
 */
const shown = (s) => s.replace(CONTROL, (c) => (c === "\r" ? "\\r" : c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));

/** A rate as a percentage; one too small for a decimal is "<0.1%", never "0.0%", which the table keeps for none. @param {number} r */
export const pct = (r) => (r > 0 && r < 0.0005 ? "<0.1%" : `${(100 * r).toFixed(1)}%`);
/** @param {{ p50: number, p95: number, p99: number } | null} p */
const lat = (p) => (p === null ? "-" : `${p.p50}/${p.p95}/${p.p99}`);
/** @param {{ kind: string, count: number }[]} f */
const kinds = (f) => (f.length === 0 ? "-" : f.map((x) => `${shown(x.kind)}×${x.count}`).join(" "));

/**
 * Columns padded to their widest cell.
 * @param {string[][]} rows
 */
function table(rows) {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd()).join("\n");
}

const BARS = "▁▂▃▄▅▆▇█";
/** @param {number[]} values */
function sparkline(values) {
  const max = Math.max(1, ...values);
  return values.map((v) => BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))] ?? "").join("");
}

/**
 * The header's word on files not read whole.
 * @param {Report["input"]["unreadable"]} files
 */
function unreadable(files) {
  if (files.length === 0) return "";
  const members = files.reduce((n, f) => n + f.damagedMembers, 0);
  const bytes = files.reduce((n, f) => n + f.damagedBytes, 0);
  return members === 0 ? `; ${files.length} file(s) cut short` : `; ${files.length} file(s) damaged: ${members} gzip member(s) and ${bytes} compressed byte(s) unreadable, every other line read`;
}

/** @param {Report} report */
export function renderText(report) {
  const out = [];
  const i = report.input;
  out.push(`${i.events} events from ${i.lines} lines in ${i.files} file(s); ${i.malformed} malformed line(s) skipped${i.unknownVersion === 0 ? "" : `; ${i.unknownVersion} event(s) of a version other than 1 skipped (this report reads version 1)`}${unreadable(i.unreadable)}${i.sampledLines === 0 ? "" : `; ${i.sampledLines} sampled request line(s), each counted as its weight in requests`}; ${report.from ?? "-"} .. ${report.to ?? "-"}`);
  for (const s of report.services) {
    out.push("");
    out.push(`service ${shown(s.service)}`);
    out.push(
      table([
        ["requests", "errors (5xx)", "failed over", "latency p50/p95/p99 ms", "upstream p50/p95/p99 ms", "top failures"],
        [String(s.requests), pct(s.errorRate), pct(s.failoverRate), lat(s.latencyMs), lat(s.upstreamLatencyMs), kinds(s.topFailures)],
      ]),
    );
    const coordinator = Object.entries(s.coordinatorEvents);
    if (coordinator.length > 0) out.push(`coordinator: ${coordinator.map(([k, n]) => `${shown(k)}×${n}`).join(" ")}`);
    if (s.instances.length > 0) {
      out.push(
        table([
          ["  instance", "tries", "failed tries", "answered", "errors", "failed over", "latency p50/p95/p99 ms", "top failures"],
          ...s.instances.map((x) => [`  ${shown(x.instance)}`, String(x.tries), pct(x.tryFailureRate), String(x.answered), pct(x.errorRate), pct(x.failoverRate), lat(x.latencyMs), kinds(x.topFailures)]),
        ]),
      );
    }
    if (s.series.length > 1) out.push(`requests per ${report.bucketSeconds} s: ${sparkline(s.series.map((p) => p.requests))}`);
  }
  return out.join("\n") + "\n";
}
