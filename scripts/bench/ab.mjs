// A/B of mesh bundles against the bench's two reference Workers, for
// hot-path work: each variant runs in its own workerd (pinned like the
// bench's system under test) in front of the same three nginx origins, and
// wrk rounds are interleaved (pass-through, hand-rolled, variant A, B, ...,
// then again, each round starting one row later), so drift and the place in
// the round land on every row alike. Per round it reads each
// workerd's CPU from /proc; it prints medians of req/s, CPU per request and
// the paired per-round ratios against the pass-through and the hand-rolled
// Worker, the same figures as the bench's steady-state table.
//
//   node scripts/bench/ab.mjs --mesh head=<bundleDir>[:<wrangler.toml>] [--mesh old=<dir>[:<toml>] ...]
//     [--handrolled <label>=<bundleDir> ...] [--vars <label>=K=V,K=V ...] [--copies 2]
//     [--rounds 6] [--seconds 4] [--connections 16] [--log off|json] [--path /item]
//
// --path is the path every row asks for under /bench-snapshot: /item gets the
// origins' sized answer, /chunked/item the same body unsized (chunked), which
// the mesh reads ahead (retry.readAheadMs) and the references stream.
//
// --copies runs every row in that many workerd processes and averages them per
// round: on this 2-core VM two processes of the same bundle differed by up to
// 0.12× the hand-rolled Worker for a whole run (docs/performance.md, "A/B
// between bundles"), so one process per variant cannot resolve a 50 µs change.
//
// Build a variant's bundle from any checkout with
//   npx wrangler deploy --dry-run --outdir <bundleDir>
// Its wrangler.toml (default: this checkout's) supplies its bindings.
import path from "node:path";
import { cpuMs, pin, pinningPlan } from "./lib/cpu.mjs";
import { closedLoop } from "./lib/load.mjs";
import { meshClient } from "./lib/mesh-client.mjs";
import { startLeanOrigins } from "./lib/native-servers.mjs";
import { freePort, stopAll } from "./lib/procs.mjs";
import { detectTools } from "./lib/tools.mjs";
import { bundleWorker, ROOT, startWorkerTracked } from "./lib/worker-runtime.mjs";
import { removeTempDirs, tempDir } from "./lib/temp.mjs";
import { median } from "./lib/stats.mjs";
import { pairedMedian } from "./analysis/steady.mjs";
import { HANDROLLED_CONFIG, PASSTHROUGH_CONFIG, setUpService } from "./scenarios/steady.mjs";

const argv = process.argv.slice(2);
function values(name) {
  const out = [];
  for (let i = 0; i < argv.length; i++) if (argv[i] === `--${name}`) out.push(argv[i + 1] ?? "");
  return out;
}
const one = (name, fallback) => values(name).at(-1) ?? fallback;
const rounds = Number(one("rounds", "6"));
const seconds = Number(one("seconds", "4"));
const connections = Number(one("connections", "16"));
const requestLog = one("log", "off");
const copies = Number(one("copies", "1"));
const askPath = one("path", "/item");
if (!askPath.startsWith("/")) throw new Error(`--path must start with "/", got "${askPath}"`);
const variants = values("mesh").map((spec) => {
  const eq = spec.indexOf("=");
  if (eq < 1) throw new Error(`--mesh wants label=bundleDir[:config], got "${spec}"`);
  const [bundleDir, config = "wrangler.toml"] = spec.slice(eq + 1).split(":");
  // startWorker reads the config relative to the repository root.
  return { label: spec.slice(0, eq), bundleDir, config: path.isAbsolute(config) ? path.relative(ROOT, config) : config };
});
/** Extra bindings per variant label (mesh or hand-rolled): the same bundle with another var is its own row. */
const extraVars = new Map(
  values("vars").map((spec) => {
    const eq = spec.indexOf("=");
    return [spec.slice(0, eq), Object.fromEntries(spec.slice(eq + 1).split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]))];
  }),
);
if (variants.length === 0 && values("handrolled").length === 0) throw new Error("give at least one --mesh or --handrolled variant");
if (!Number.isInteger(copies) || copies < 1 || !Number.isInteger(rounds) || rounds < 1 || !(seconds > 0) || !Number.isInteger(connections) || connections < 1) throw new Error("--copies, --rounds, --seconds and --connections must be positive");

const tools = detectTools();
const plan = pinningPlan();
const adminToken = "ab-admin-token";
const workers = [];
try {
  const ports = [await freePort(), await freePort(), await freePort()];
  const originUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  await startLeanOrigins(tools.nginx, ports, plan?.load);
  /** One row per variant; each runs in `copies` workerd processes, measured one after the other within a round. */
  const rows = [];
  const addRow = (label, copy) => {
    const row = rows.find((r) => r.label === label) ?? { label, copies: [] };
    if (row.copies.length === 0) rows.push(row);
    row.copies.push(copy);
  };
  const reference = async (label, config, bindings) => {
    const bundleDir = await bundleWorker({ config, outdir: await tempDir(`ab-${label}`) });
    for (let c = 0; c < copies; c++) {
      const started = await startWorkerTracked({ bundleDir, config, bindings });
      workers.push(started.worker);
      addRow(label, { url: `${started.worker.url}/bench-snapshot${askPath}`, pids: started.pids });
    }
  };
  await reference("pass-through", PASSTHROUGH_CONFIG, { ORIGIN_URL: originUrls[0] });
  await reference("hand-rolled", HANDROLLED_CONFIG, { ORIGIN_URLS: originUrls.join(",") });
  // Variants of the hand-rolled Worker (built from a patched workers/handrolled/): the cost of one proxy step in isolation.
  for (const spec of values("handrolled")) {
    const eq = spec.indexOf("=");
    for (let c = 0; c < copies; c++) {
      const bindings = { ORIGIN_URLS: originUrls.join(","), ...extraVars.get(spec.slice(0, eq)) };
      const started = await startWorkerTracked({ bundleDir: spec.slice(eq + 1), config: HANDROLLED_CONFIG, bindings });
      workers.push(started.worker);
      addRow(spec.slice(0, eq), { url: `${started.worker.url}/bench-snapshot${askPath}`, pids: started.pids });
    }
  }
  for (const v of variants) {
    for (let c = 0; c < copies; c++) {
      const started = await startWorkerTracked({
        bundleDir: v.bundleDir,
        config: v.config,
        bindings: { MESH_ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: requestLog, ...extraVars.get(v.label) },
        onStdout: () => {},
      });
      workers.push(started.worker);
      await setUpService(meshClient(started.worker.url, adminToken), "bench-snapshot", "snapshot", originUrls);
      addRow(v.label, { url: `${started.worker.url}/bench-snapshot${askPath}`, pids: started.pids });
    }
  }
  const all = rows.flatMap((row) => row.copies.map((copy) => ({ label: row.label, ...copy })));
  if (plan !== null) for (const copy of all) for (const pid of copy.pids) await pin(pid, plan.sut);
  for (const copy of all) {
    const res = await fetch(copy.url);
    if (res.status !== 200) throw new Error(`${copy.label}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    await res.arrayBuffer();
    await closedLoop(tools, { url: copy.url, connections, seconds: 1, cpu: plan?.load ?? null });
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const samples = rows.map(() => []);
  for (let r = 1; r <= rounds; r++) {
    // Each round starts one row later than the one before (round 1: rows as given, round 2: from the
    // second row on, ...): a row measured in the same place every round carries whatever that place
    // costs. On 2026-12-02 the same two bundles came out 0.055x apart (the hand-rolled Worker's rate)
    // with the newer one always measured last, 0.003x apart with it before the older, and 0.037x the
    // other way with the order rotated: one run each, no proof of a bias, but rotating costs nothing.
    for (let k = 0; k < rows.length; k++) {
      const i = (k + r - 1) % rows.length;
      const row = rows[i];
      if (row === undefined) continue;
      const perCopy = [];
      for (const copy of row.copies) {
        const cpu0 = await cpuMs(copy.pids);
        const load = await closedLoop(tools, { url: copy.url, connections, seconds, cpu: plan?.load ?? null });
        const cpu = (await cpuMs(copy.pids)) - cpu0;
        perCopy.push({ rps: load.rps, p50: load.latencyMs.p50, cpuUs: (cpu * 1000) / Math.max(1, load.requests), errors: load.non2xx + load.socketErrors });
      }
      const sample = { rps: mean(perCopy.map((x) => x.rps)), p50: mean(perCopy.map((x) => x.p50)), cpuUs: mean(perCopy.map((x) => x.cpuUs)), errors: perCopy.reduce((a, x) => a + x.errors, 0) };
      samples[i].push(sample);
      const each = perCopy.length > 1 ? `  (copies: ${perCopy.map((x) => x.rps.toFixed(0)).join(" / ")} req/s)` : "";
      console.log(`round ${r} ${row.label.padEnd(16)} ${sample.rps.toFixed(0).padStart(6)} req/s  ${sample.cpuUs.toFixed(0).padStart(5)} µs CPU/req  p50 ${sample.p50.toFixed(3)} ms${each}${sample.errors > 0 ? `  ERRORS ${sample.errors}` : ""}`);
    }
  }
  // The bench's own pairing (analysis/steady.mjs): one pass here, at the connections asked for.
  const byLabel = Object.fromEntries(rows.map((row, i) => [row.label, { throughput: samples[i] }]));
  const paired = (i, ref, f) => pairedMedian(byLabel, rows[i].label, rows[ref].label, "throughput", f) ?? Number.NaN;
  console.log(`\n${rounds} rounds × ${seconds} s at ${connections} connections, ${copies} process(es) per row, REQUEST_LOG=${requestLog} on the mesh rows, path ${askPath}; medians (ratios and CPU added paired per round):`);
  console.log("row              req/s   CPU µs/req  × pass-through  × hand-rolled  CPU added µs  p50 added ms");
  for (const [i, row] of rows.entries()) {
    console.log(
      `${row.label.padEnd(16)} ${median(samples[i].map((s) => s.rps)).toFixed(0).padStart(6)}  ${median(samples[i].map((s) => s.cpuUs)).toFixed(1).padStart(10)}` +
        `  ${paired(i, 0, (s, p) => s.rps / p.rps).toFixed(3).padStart(14)}  ${paired(i, 1, (s, h) => s.rps / h.rps).toFixed(3).padStart(13)}  ${paired(i, 0, (s, p) => s.cpuUs - p.cpuUs).toFixed(1).padStart(12)}  ${paired(i, 0, (s, p) => s.p50 - p.p50).toFixed(3).padStart(12)}`,
    );
  }
} finally {
  for (const w of workers) await w.dispose().catch(() => {});
  await stopAll();
  await removeTempDirs();
}
