// @ts-check
// One service's section of the page: headline numbers, charts, and the
// instances table. Everything is built with textContent, never innerHTML, so a
// service name or an instance URL is only ever text.
import { lineChart } from "./chart.client.js";
import { agoTime, fmtMs, fmtPct, fmtRate, livePoints, relTime, seriesPoints } from "./model.client.js";

/** @typedef {import("./model.client.js").ServiceDetail} ServiceDetail */
/** @typedef {import("./model.client.js").ServiceStats} ServiceStats */
/** @typedef {import("./model.client.js").InstanceTrack} InstanceTrack */
/** @typedef {import("./model.client.js").InstanceView} InstanceView */

/** How far back the per-instance live charts reach: MAX_SAMPLES polls of 5 s. */
const LIVE_SPAN_MS = 5 * 60_000;

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className !== undefined && className !== "") e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * @param {string} iso
 * @param {number} now
 * @param {boolean} [past] an event that has happened, never shown as future
 */
function timeEl(iso, now, past = false) {
  const t = /** @type {HTMLTimeElement} */ (el("time"));
  t.dateTime = iso;
  t.title = new Date(iso).toLocaleString();
  t.textContent = (past ? agoTime : relTime)(Date.parse(iso), now);
  return t;
}

/** @param {(string | Node)[]} parts @param {string} label */
function cell(label, ...parts) {
  const td = el("td");
  // The phone layout shows each cell as "label: value" (style.css, ::before).
  td.dataset["label"] = label;
  // One child, so that layout's two-column grid gets exactly label and value.
  const value = el("div");
  value.append(...parts);
  td.append(value);
  return td;
}

/**
 * @param {string} title
 * @param {{ label: string, value: string }[]} items
 */
function kpis(title, items) {
  const dl = el("dl", "kpis");
  dl.setAttribute("aria-label", title);
  for (const { label, value } of items) {
    const div = el("div");
    div.append(el("dt", "", label), el("dd", "", value));
    dl.append(div);
  }
  return dl;
}

/**
 * @param {InstanceView} inst
 * @param {InstanceTrack | undefined} track
 * @param {import("./model.client.js").InstanceStats | undefined} stat
 * @param {number} now
 * @param {{ from: number, to: number } | null} range the stats window, when there are stats
 */
function instanceRow(inst, track, stat, now, range) {
  const tr = el("tr");
  tr.dataset["instance"] = inst.id;
  const name = el("th");
  name.setAttribute("scope", "row");
  name.append(el("span", "id", inst.id), el("span", "url", inst.url));
  const state = el("span", `state ${inst.state}`, inst.state);
  const stateCell = cell("State", state);
  if (inst.ejectedUntil !== null) stateCell.append(el("span", "note", "ejected until "), timeEl(inst.ejectedUntil, now));

  const check = inst.lastCheckAt === null ? [el("span", "note", "not yet")] : [timeEl(inst.lastCheckAt, now, true), el("span", "note", inst.lastCheckResult ?? "")];

  const changes = el("ul", "transitions");
  for (const t of track?.transitions ?? []) {
    const li = el("li", "", `${t.from} → ${t.to} `);
    li.append(timeEl(new Date(t.at).toISOString(), now, true));
    changes.append(li);
  }
  if (changes.childElementCount === 0) changes.append(el("li", "note", track === undefined ? "–" : `none since ${new Date(track.firstSeenAt).toLocaleTimeString()}`));

  const live = livePoints(track?.samples ?? []);
  const spark = lineChart({
    title: `Tries per second at ${inst.id}, measured between polls`,
    lines: [
      { name: "tries/s", points: live.rate, className: "rate" },
      { name: "failed/s", points: live.rate.map((p, i) => ({ x: p.x, y: p.y === null ? null : (p.y * (live.errors[i]?.y ?? 0)) / 100 })), className: "err" },
    ],
    fmt: fmtRate,
    // From when this page started watching, up to five minutes back, so a young chart is not squeezed to the right edge.
    from: Math.max(now - LIVE_SPAN_MS, track?.firstSeenAt ?? now),
    to: now,
    compact: true,
  });
  const latest = track?.samples.at(-1);
  // The instance's p50 and p99 per minute of the stats window, from the stats endpoint's per-instance series.
  const latency = [];
  if (stat?.series !== undefined && range !== null) {
    const pts = seriesPoints({ series: stat.series, to: new Date(range.to).toISOString() });
    latency.push(
      lineChart({
        title: `Latency at ${inst.id}, per minute`,
        lines: [
          { name: "p50", points: pts.p50, className: "p50" },
          { name: "p99", points: pts.p99, className: "p99" },
        ],
        fmt: fmtMs,
        ...range,
        compact: true,
      }),
    );
  }
  tr.append(
    name,
    stateCell,
    cell("Last check", ...check),
    cell("Lease expires", timeEl(inst.leaseExpiresAt, now)),
    cell("Recent transitions", changes),
    cell("Tries/s now", spark, el("span", "num", fmtRate(latest?.rate))),
    cell("Req/s", el("span", "num", fmtRate(stat?.throughputPerSecond))),
    cell("Errors", el("span", "num", fmtPct(stat?.errorRate))),
    cell("Latency", ...latency),
    cell("p50", el("span", "num", fmtMs(stat?.latencyMs.p50))),
    cell("p99", el("span", "num", fmtMs(stat?.latencyMs.p99))),
  );
  return tr;
}

const COLUMNS = ["Instance", "State", "Last check", "Lease expires", "Recent transitions", "Tries/s now", "Req/s", "Errors", "Latency", "p50", "p99"];

/**
 * Fills `section` with the service as of this poll.
 * @param {HTMLElement} section
 * @param {{ name: string, detail: ServiceDetail | null, detailProblem: string | null, stats: ServiceStats | null,
 *   statsProblem: string | null, tracks: Map<string, InstanceTrack>, now: number }} view
 */
export function renderService(section, { name, detail, detailProblem, stats, statsProblem, tracks, now }) {
  const headingId = `svc-${name}-h`;
  section.setAttribute("aria-labelledby", headingId);
  const h2 = el("h2", "", name);
  h2.id = headingId;
  if (detail === null) {
    section.replaceChildren(h2, el("p", "note problem", `This service's instances are unavailable: ${detailProblem ?? "no answer"}. Retrying at the next refresh.`));
    return;
  }
  const counts = new Map();
  for (const i of detail.instances) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
  const parts = [h2, el("p", "summary", `${detail.instances.length} instance${detail.instances.length === 1 ? "" : "s"}${summary === "" ? "" : `: ${summary}`}`)];

  if (stats !== null) {
    parts.push(
      kpis(`${name}, last ${stats.window}`, [
        { label: `Req/s (${stats.window})`, value: fmtRate(stats.throughputPerSecond) },
        { label: "Errors", value: fmtPct(stats.errorRate) },
        { label: "Failovers", value: fmtPct(stats.failoverRate) },
        { label: "p50", value: fmtMs(stats.latencyMs.p50) },
        { label: "p99", value: fmtMs(stats.latencyMs.p99) },
      ]),
    );
    const pts = seriesPoints(stats);
    const range = { from: Date.parse(stats.from), to: Date.parse(stats.to) };
    const charts = el("div", "charts");
    charts.append(
      lineChart({ title: "Requests per second", lines: [{ name: "req/s", points: pts.rate, className: "rate" }], fmt: fmtRate, ...range }),
      // The points are percentages; fmtPct takes a fraction, and keeps a rare error from reading 0.0 %.
      lineChart({ title: "Error rate", lines: [{ name: "errors", points: pts.errors, className: "err" }], fmt: (v) => fmtPct(v / 100), ...range }),
      lineChart({
        title: "Latency",
        lines: [
          { name: "p50", points: pts.p50, className: "p50" },
          { name: "p99", points: pts.p99, className: "p99" },
        ],
        fmt: fmtMs,
        ...range,
      }),
    );
    parts.push(charts);
  } else {
    parts.push(el("p", "note problem", `Request statistics unavailable: ${statsProblem ?? "no answer"}. Instance states below are live.`));
  }

  const table = el("table", "instances");
  const caption = el("caption", "", `Instances of ${name}`);
  const head = el("thead");
  const hr = el("tr");
  for (const c of COLUMNS) {
    const th = el("th", "", c);
    th.setAttribute("scope", "col");
    hr.append(th);
  }
  head.append(hr);
  const body = el("tbody");
  const byId = new Map((stats?.instances ?? []).map((s) => [s.id, s]));
  const window = stats === null ? null : { from: Date.parse(stats.from), to: Date.parse(stats.to) };
  for (const inst of detail.instances) body.append(instanceRow(inst, tracks.get(inst.id), byId.get(inst.id), now, window));
  table.append(caption, head, body);
  const wrap = el("div", "table-wrap");
  wrap.append(table);
  parts.push(wrap);
  section.replaceChildren(...parts);
}
