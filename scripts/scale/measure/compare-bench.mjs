#!/usr/bin/env node
// @ts-check
// The bench's N-routers run (scripts/bench/scenarios/n-routers.mjs) against the scale model:
// node scripts/scale/measure/compare-bench.mjs [bench/results/2026-11-30-routers.json] [--json]
// The bench sends every router its requests at the same instants (lockstep), so the model is
// fed lockstep arrivals; its Poisson figure (what the CLI assumes) is printed beside it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { reportRate } from "../model/model.mjs";
import { predictRoutersRun } from "./compare.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const file = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? path.join(ROOT, "bench/results/2026-11-30-routers.json");

/** @typedef {{ routers: number, sharing: "off" | "cache", requestsPerSecond: number, snapshotRpcsPerSecond: number, reportRpcsPerSecond: number }} BenchRow */
const bench = /** @type {{ scenarios: { routers?: { rows: BenchRow[] } } }} */ (JSON.parse(await readFile(file, "utf8")));
const rows = bench.scenarios.routers?.rows;
if (rows === undefined) {
  process.stderr.write(`compare-bench: ${file} has no routers scenario\n`);
  process.exit(2);
}
const out = rows.map((r) => {
  const run = { routers: r.routers, sharing: r.sharing, ratePerRouter: r.requestsPerSecond / r.routers, measuredSnapshotRpcsPerS: r.snapshotRpcsPerSecond };
  // Reports do not depend on sharing: one flush per router per window (reportRate, one service, no failures).
  const reports = { measured: r.reportRpcsPerSecond, model: r.routers * reportRate(run.ratePerRouter, run.ratePerRouter, 0).reportsPerS };
  return { ...run, lockstep: predictRoutersRun({ ...run, arrivals: "lockstep" }), poisson: predictRoutersRun({ ...run, arrivals: "poisson" }), reports };
});
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(out, null, 2));
} else {
  const f = (/** @type {number} */ x) => x.toFixed(2);
  console.log("| routers | sharing | snapshot RPCs/s measured | model (lockstep) | 10–90 % over lead draws | ratio | model (Poisson) | report RPCs/s measured | model | ratio |");
  console.log("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|");
  for (const r of out) {
    const range = r.sharing === "off" ? "—" : `${f(r.lockstep.p10)}–${f(r.lockstep.p90)}${r.lockstep.inDrawRange === true ? "" : " (outside)"}`;
    console.log(`| ${r.routers} | ${r.sharing} | ${f(r.measuredSnapshotRpcsPerS)} | ${f(r.lockstep.model)} | ${range} | ${f(r.lockstep.ratio)} | ${f(r.poisson.model)} | ${f(r.reports.measured)} | ${f(r.reports.model)} | ${f(r.reports.measured / r.reports.model)} |`);
  }
}
