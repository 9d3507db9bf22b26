// @ts-check
// Hand-written SVG charts (no chart library): a throughput / latency bar chart
// for scenario 1 and a failover timeline for scenario 2. Plain SVG 1.1 with
// inline styles, so any browser or image viewer shows them.

const FONT = "font-family:Helvetica,Arial,sans-serif";
const COLORS = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#be185d"];
/** The k-th series colour, cycling. @param {number} k @returns {string} */
const color = (k) => COLORS[k % COLORS.length] ?? "#2563eb";
/**
 * @typedef {import("./result.mjs").SteadyScenario} SteadyScenario
 * @typedef {import("./result.mjs").FailoverScenario} FailoverScenario
 * @typedef {import("./result.mjs").FailoverRun} FailoverRun
 * @typedef {import("./result.mjs").RunMeta} RunMeta
 * @typedef {{ label: string, value: number | null, note?: string, color?: string }} Bar
 *   value null: not measured; drawn as an empty bar labelled n/a.
 */

/** @param {string | number} s */
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/**
 * @param {number} x @param {number} y @param {string | number} s
 * @param {{ size?: number, anchor?: string, weight?: string, fill?: string, rotate?: number | null }} [style]
 */
const text = (x, y, s, { size = 12, anchor = "start", weight = "normal", fill = "#111", rotate = null } = {}) =>
  `<text x="${x}" y="${y}" style="${FONT};font-size:${size}px;font-weight:${weight}" fill="${fill}" text-anchor="${anchor}"${rotate === null ? "" : ` transform="rotate(${rotate} ${x} ${y})"`}>${esc(s)}</text>`;
/** @param {number} n */
const fmtInt = (n) => Math.round(n).toLocaleString("en-US");

/** A "nice" axis maximum and step for values up to `max`. @param {number} max @param {number} [ticks] */
function niceScale(max, ticks = 5) {
  const raw = Math.max(max, 1e-9) / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { max: step * Math.ceil(max / step), step };
}

/**
 * Horizontal bars. Returns SVG fragment and height.
 * @param {{ x: number, y: number, width: number, title: string, unit: string, rows: Bar[],
 *           targetLines?: { value: number, label: string }[], digits?: number }} opts
 */
function hbars({ x, y, width, title, unit, rows, targetLines = [], digits = 0 }) {
  const labelW = 230;
  const barH = 18;
  const gap = 8;
  const plotW = width - labelW - 90;
  const scale = niceScale(Math.max(...rows.map((r) => r.value ?? 0), ...targetLines.map((t) => t.value)));
  let s = text(x, y, title, { size: 14, weight: "bold" });
  const top = y + 14;
  const h = rows.length * (barH + gap);
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    const gx = x + labelW + (v / scale.max) * plotW;
    s += `<line x1="${gx}" y1="${top}" x2="${gx}" y2="${top + h}" stroke="#e5e7eb"/>`;
    s += text(gx, top + h + 14, digits > 0 ? v.toFixed(digits) : fmtInt(v), { size: 10, anchor: "middle", fill: "#6b7280" });
  }
  rows.forEach((r, i) => {
    const by = top + i * (barH + gap);
    const value = r.value ?? 0;
    const w = Math.max(1, (value / scale.max) * plotW);
    s += text(x + labelW - 8, by + 13, r.label, { size: 12, anchor: "end" });
    s += `<rect x="${x + labelW}" y="${by}" width="${w}" height="${barH}" fill="${r.color ?? color(0)}" rx="2"/>`;
    s += text(x + labelW + w + 6, by + 13, `${r.value === null ? "n/a" : digits > 0 ? r.value.toFixed(digits) : fmtInt(r.value)}${unit}${r.note ? `  ${r.note}` : ""}`, { size: 11, fill: "#374151" });
  });
  for (const t of targetLines) {
    const tx = x + labelW + (t.value / scale.max) * plotW;
    s += `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${top + h}" stroke="#dc2626" stroke-dasharray="4 3"/>`;
    s += text(tx, top - 6, t.label, { size: 10, anchor: "middle", fill: "#dc2626" });
  }
  return { svg: s, height: h + 40 };
}

/** Scenario 1 chart: req/s, ratio to the pass-through, and unloaded latency. @param {SteadyScenario} steady @param {RunMeta} meta */
export function throughputChart(steady, meta) {
  const width = 900;
  /** @param {string} id @returns {string} */
  const rowColor = (id) => ({ origin: "#6b7280", passthrough: "#16a34a", handrolled: "#65a30d", snapshot: "#2563eb", strict: "#7c3aed", "snapshot-every-line": "#0891b2", nginx: "#d97706", haproxy: "#be185d" })[id] ?? color(0);
  let y = 30;
  let body = text(20, y, `Switchyard steady state — 3 origins, GET, small body (${meta.date}, ${meta.mode})`, { size: 16, weight: "bold" });
  y += 18;
  body += text(20, y, `${steady.config.generator}; ${steady.config.connections} connections for req/s, 1 connection for latency; median of ${steady.config.rounds} round(s); one core per proxy`, { size: 11, fill: "#4b5563" });
  y += 30;
  const a = hbars({ x: 20, y, width, title: "Throughput (req/s)", unit: "", rows: steady.rows.map((r) => ({ label: r.label, value: r.throughput.rps, color: rowColor(r.id) })) });
  body += a.svg;
  y += a.height + 20;
  const workerRows = steady.rows.filter((r) => ["passthrough", "handrolled", "handrolled-guard", "snapshot", "strict", "snapshot-every-line"].includes(r.id));
  const b = hbars({
    x: 20,
    y,
    width,
    title: "Workers: req/s relative to the pass-through Worker",
    unit: "×",
    digits: 2,
    rows: workerRows.map((r) => ({ label: r.label, value: r.rpsVsPassthrough, color: rowColor(r.id) })),
    targetLines: [
      { value: 0.95, label: "snapshot ≥ 0.95" },
      { value: 0.75, label: "strict ≥ 0.75" },
    ],
  });
  body += b.svg;
  y += b.height + 20;
  // p50 and p99 on separate scales: Worker tails are two orders of magnitude above their medians.
  const c = hbars({
    x: 20,
    y,
    width,
    title: "Latency at 1 connection (nothing queued): p50, ms (in brackets: added over the pass-through)",
    unit: " ms",
    digits: 3,
    rows: steady.rows.map((r) => ({ label: r.label, value: r.latency.p50, color: rowColor(r.id), note: ["snapshot", "strict", "snapshot-every-line"].includes(r.id) && r.p50AddedMs !== null ? `(${r.p50AddedMs >= 0 ? "+" : ""}${r.p50AddedMs.toFixed(3)} ms)` : "" })),
  });
  body += c.svg;
  y += c.height + 20;
  const d = hbars({
    x: 20,
    y,
    width,
    title: "Latency at 1 connection: p99, ms",
    unit: " ms",
    digits: 2,
    rows: steady.rows.map((r) => ({ label: r.label, value: r.latency.p99, color: rowColor(r.id) })),
  });
  body += d.svg;
  y += d.height + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}

/**
 * One failover panel: answers per second per origin, errors per second, fault window.
 * @param {{ x: number, y: number, width: number, height: number, run: FailoverRun, title: string }} opts
 */
function timelinePanel({ x, y, width, height, run, title }) {
  const tl = run.timeline;
  const names = Object.keys(tl.perOrigin);
  const seconds = tl.errors.length;
  const maxY = niceScale(Math.max(...names.flatMap((n) => tl.perOrigin[n] ?? []), ...tl.errors, ...tl.slowOver100ms, 1));
  const left = x + 50;
  const plotW = width - 70 - 210;
  const plotH = height - 60;
  const top = y + 24;
  /** @param {number} s */
  const px = (s) => left + (s / seconds) * plotW;
  /** @param {number} v */
  const py = (v) => top + plotH - (v / maxY.max) * plotH;
  // Both are set whenever the run has a fault window; 0 only guards a malformed result.
  const faultAtS = tl.faultAtS ?? 0;
  const restoreAtS = tl.restoreAtS ?? 0;
  let s = text(x, y + 8, title, { size: 14, weight: "bold" });
  s += `<rect x="${px(faultAtS)}" y="${top}" width="${Math.max(0, px(restoreAtS) - px(faultAtS))}" height="${plotH}" fill="#fee2e2" opacity="0.6"/>`;
  for (let v = 0; v <= maxY.max + 1e-9; v += maxY.step) {
    s += `<line x1="${left}" y1="${py(v)}" x2="${left + plotW}" y2="${py(v)}" stroke="#e5e7eb"/>`;
    s += text(left - 6, py(v) + 4, fmtInt(v), { size: 10, anchor: "end", fill: "#6b7280" });
  }
  for (let t = 0; t <= seconds; t += seconds > 30 ? 5 : 2) s += text(px(t), top + plotH + 14, `${t}s`, { size: 10, anchor: "middle", fill: "#6b7280" });
  s += text(left - 38, top + plotH / 2, "requests / s", { size: 11, anchor: "middle", fill: "#374151", rotate: -90 });
  // Slow answers (> 100 ms) as grey bars, errors as red bars, one per second.
  const bw = Math.max(2, plotW / seconds - 4);
  tl.slowOver100ms.forEach((v, i) => {
    if (v > 0) s += `<rect x="${px(i) + 2}" y="${py(v)}" width="${bw}" height="${top + plotH - py(v)}" fill="#d1d5db"/>`;
  });
  tl.errors.forEach((e, i) => {
    if (e > 0) s += `<rect x="${px(i) + 2}" y="${py(e)}" width="${bw}" height="${top + plotH - py(e)}" fill="#dc2626"/>`;
  });
  // Answers per origin per second as steps; later origins drawn thinner and dashed so equal counts stay visible.
  names.forEach((n, k) => {
    const pts = (tl.perOrigin[n] ?? []).flatMap((v, i) => [`${px(i).toFixed(1)},${py(v).toFixed(1)}`, `${px(i + 1).toFixed(1)},${py(v).toFixed(1)}`]).join(" ");
    const dash = k === 2 ? ' stroke-dasharray="6 4"' : "";
    s += `<polyline points="${pts}" fill="none" stroke="${color(k)}" stroke-width="${k === 0 ? 4 : 2}"${dash}/>`;
  });
  /** @type {[number, string][]} */
  const marks = [
    [faultAtS, run.fault === "kill" ? "kill" : "hang"],
    [restoreAtS, "restore"],
  ];
  for (const [t, label] of marks) {
    s += `<line x1="${px(t)}" y1="${top}" x2="${px(t)}" y2="${top + plotH}" stroke="#991b1b" stroke-dasharray="5 3"/>`;
    s += text(px(t) + 3, top + 11, label, { size: 11, fill: "#991b1b" });
  }
  // Legend.
  const lx = left + plotW + 16;
  names.forEach((n, k) => {
    s += `<line x1="${lx}" y1="${top + 10 + k * 18}" x2="${lx + 18}" y2="${top + 10 + k * 18}" stroke="${color(k)}" stroke-width="3"/>`;
    s += text(lx + 24, top + 14 + k * 18, `${n}${n === run.victim ? " (faulty)" : ""}`, { size: 11 });
  });
  s += `<rect x="${lx}" y="${top + 4 + names.length * 18}" width="18" height="10" fill="#dc2626"/>` + text(lx + 24, top + 14 + names.length * 18, "client errors / s", { size: 11 });
  s += `<rect x="${lx}" y="${top + 22 + names.length * 18}" width="18" height="10" fill="#d1d5db"/>` + text(lx + 24, top + 32 + names.length * 18, "answers > 100 ms / s", { size: 11 });
  const facts = [
    `errors: ${run.clientErrors}`,
    `last sent to faulty: +${run.lastToFaultyMs ?? "n/a"} ms`,
    `traffic after restore: +${run.restoreToTrafficMs ?? "n/a"} ms`,
    `p99 during fault: ${run.duringFault.p99} ms`,
  ];
  facts.forEach((f, k) => (s += text(lx, top + 62 + names.length * 18 + k * 16, f, { size: 11, fill: "#374151" })));
  return s;
}

/** Scenario 2 chart: one timeline panel per fault. @param {FailoverScenario} fo @param {RunMeta} meta */
export function failoverChart(fo, meta) {
  const width = 960;
  const panelH = 260;
  let y = 30;
  let body = text(20, y, `Switchyard failover under load — ${fo.rate} req/s open loop, 3 origins (${meta.date}, ${meta.mode})`, { size: 16, weight: "bold" });
  y += 18;
  body += text(
    20,
    y,
    `health check every ${fo.health.intervalSeconds} s (healthy after ${fo.health.healthyThreshold}, unhealthy after ${fo.health.unhealthyThreshold}); ${fo.retry.attempts} attempts, ${fo.retry.perTryTimeoutMs} ms per try; answers per origin per second by completion time`,
    { size: 11, fill: "#4b5563" },
  );
  y += 22;
  for (const run of fo.runs) {
    body += timelinePanel({ x: 20, y, width, height: panelH, run, title: run.fault === "kill" ? "Origin killed (port closed)" : "Origin hung (accepts, never answers)" });
    y += panelH + 20;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}
