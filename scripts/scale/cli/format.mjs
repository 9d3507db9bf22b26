// @ts-check
// The readable report printed by `npm run scale-model` (run.mjs); --json prints the raw model instead.
import { PRICES_READ } from "../model/cost.mjs";
import { DESIGN_LABELS, DESIGNS } from "../model/model.mjs";

/** @param {number} n */
export function num(n) {
  if (n === 0) return "0";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 1) return n.toFixed(1);
  return n.toPrecision(2);
}

/** @param {number} n */
const usd = (n) => `$${Math.round(n).toLocaleString("en-US")}`;

/**
 * A plain-text table; a header cell may hold "\n" to take two lines, so long column names stay narrow.
 * @param {string[]} header @param {string[][]} rows
 */
export function table(header, rows) {
  const headerLines = header.map((h) => h.split("\n"));
  const depth = Math.max(...headerLines.map((l) => l.length));
  const heads = Array.from({ length: depth }, (_, k) => headerLines.map((l) => l[k - (depth - l.length)] ?? ""));
  const all = [...heads, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const pad = (/** @type {string} */ cell, /** @type {number} */ i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0));
  const line = (/** @type {string[]} */ r) => r.map(pad).join("  ");
  return [...heads.map(line), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A design's column name on two lines: the mode, then the switch in brackets. @param {Design} d */
const column = (d) => DESIGN_LABELS[d].replace(" (", "\n(");

/**
 * @typedef {import("../model/model.mjs").Design} Design
 */

/**
 * @param {import("../model/model.mjs").ScaleModel} m
 * @param {Record<Design, import("../model/cost.mjs").MonthlyCost>} costs by design
 */
export function formatReport(m, costs) {
  const c = m.inputs;
  const kinds = /** @type {const} */ ([
    ["snapshot refresh", "snapshotRefresh"],
    ["strict leases / pick batches", "strictLeases"],
    ["reports", "reports"],
    ["heartbeats", "heartbeats"],
    ["registrations + deregistrations", "registrations"],
    ["cron sweep", "sweep"],
    ["total", "total"],
  ]);
  const header = ["per service, req/s", ...DESIGNS.map(column)];
  const loadRows = kinds.map(([label, key]) => [label, ...DESIGNS.map((d) => num(m.load.byDesign[d][key]))]);
  loadRows.push(["coordinators needed (≤1,000 req/s)", ...DESIGNS.map((d) => String(m.shards[d]))]);
  loadRows.push(["subrequests per client request (mean)", ...DESIGNS.map((d) => num(m.subrequests[d].mean))]);
  const costLines = /** @type {const} */ (["workers", "doRequests", "doDuration", "doRowsWritten", "kv", "workersLogs", "logpush", "total"]);
  const costRows = costLines.map((k) => [k, ...DESIGNS.map((d) => usd(costs[d][k]))]);
  const flags = m.flags.length === 0 ? ["  none"] : m.flags.map((f) => `  ! ${f.limit}${f.design === undefined ? "" : ` (${DESIGN_LABELS[/** @type {Design} */ (f.design)]})`}: ${num(f.value)} > ${num(f.max)}: ${f.note}`);
  const d = m.deadOrigin;
  const s = m.staleness;
  return [
    `Switchyard scale model: ${c.locations} locations × ${c.isolatesPerLocation} isolates, ${num(c.rps)} req/s over ${c.services} services × ${c.instancesPerService} instances`,
    `health every ${c.healthIntervalS} s, lease ${c.leaseTtlS} s, coordinator round trip ${c.doRttMs} ms; ${num(m.load.serviceRps)} req/s per service, ${num(m.load.perIsolateServiceRps)} per isolate and service`,
    "",
    table(header, loadRows),
    "Both modes' defaults are built and on: with the shared refresh one isolate per location and TTL claims, asks and leaves a Cache API copy",
    "for the other isolates; leased slots take k = ceil(picks/s × 250 ms) (1..256) rotation slots per RPC, and keep the snapshot refreshing.",
    "",
    `KV per day: ${num(m.kv.reads)} reads (route index ${num(m.kv.readsByKind.routeIndex)}, control-plane auth ${num(m.kv.readsByKind.auth)}, sweep ${num(m.kv.readsByKind.sweep)}), ${num(m.kv.writes)} writes, ${num(m.kv.deletes)} deletes, ${num(m.kv.lists)} lists; hottest key ${num(m.kv.maxWritesPerKeyPerS)} writes/s`,
    `Report flush: ${num(m.subrequests.snapshot.servicesPerFlush)} coordinators per flush on average, ${num(m.subrequests.snapshot.worst)} subrequests for the unluckiest request`,
    `Snapshot staleness: ${num(s.busyMs)} ms (busy isolate; ${num(s.busySharedMs)} ms with the shared refresh), ${num(s.slowCoordinatorMs)} ms (slow coordinator), ${num(s.unreachableMs)} ms then KV mirror (unreachable)`,
    `Dead origin, traffic stops: this isolate ${num(d.localKillMs)} ms after the first failed try (kill) / ${num(d.localHangMs)} ms (hang); every location ${num(d.everywhereKillMs)} ms (kill) / ${num(d.everywhereHangMs)} ms (hang) via ${d.passiveEjection ? "passive ejection" : "confirming probe + health rounds"}, ${num(d.sharedExtraMs)} ms more with the shared refresh; idle service ${num(d.idleServiceMs)} ms`,
    `Isolate memory: ${num(m.isolateMemoryBytes / 1048576)} MiB of 128 MiB`,
    `Cron sweep, one invocation: ${num(m.sweep.subrequests)} coordinator RPCs, ${num(m.sweep.kvOps)} KV operations`,
    "",
    `Monthly cost (30 days; prices as published, read ${PRICES_READ}):`,
    table(["USD / month", ...DESIGNS.map(column)], costRows),
    "",
    "Platform limits crossed:",
    ...flags,
    "",
  ].join("\n");
}
