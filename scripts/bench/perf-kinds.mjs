// Where a Worker's CPU goes by kind of code (JavaScript, V8 runtime, GC,
// bindings, headers, KJ I/O, allocation, kernel), for the mesh and the
// reference Workers side by side: each runs in its own workerd pinned like
// the bench's system under test, under wrk at 16 connections, while Linux
// `perf record` samples every thread of that process. Complements
// profile.mjs, whose V8 sampling cannot resolve a difference of a few tens
// of µs per request (docs/performance.md, "Where the regression entered").
//
//   node scripts/bench/perf-kinds.mjs [--targets handrolled,snapshot] [--seconds 4] [--connections 16]
//
// Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid ≤ 2, wrk and
// nginx. One process per target and one sampled run each: read differences of
// 20 µs and more, and repeat before trusting a smaller one.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { KINDS, percentByKind, usPerRequestByKind } from "./analysis/perf-kinds.mjs";
import { cpuMs, pin, pinningPlan } from "./lib/cpu.mjs";
import { closedLoop } from "./lib/load.mjs";
import { meshClient } from "./lib/mesh-client.mjs";
import { startLeanOrigins } from "./lib/native-servers.mjs";
import { freePort, stopAll } from "./lib/procs.mjs";
import { removeTempDirs, tempDir } from "./lib/temp.mjs";
import { detectTools, findTool } from "./lib/tools.mjs";
import { bundleWorker, startWorkerTracked } from "./lib/worker-runtime.mjs";
import { REFERENCE_WORKERS, setUpService } from "./scenarios/steady.mjs";

const run = promisify(execFile);
const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (argv[i + 1] ?? fallback);
};
const TARGETS = ["passthrough", "handrolled", "snapshot"];
const targets = arg("targets", "handrolled,snapshot").split(",");
const seconds = Number(arg("seconds", "4"));
const connections = Number(arg("connections", "16"));

function fail(message) {
  process.stderr.write(`perf-kinds: ${message}\n`);
  process.exit(2);
}
if (targets.some((t) => !TARGETS.includes(t))) fail(`--targets takes a comma-separated list of ${TARGETS.join(", ")}`);
if (!(seconds > 0) || !Number.isInteger(connections) || connections < 1) fail("--seconds and --connections must be positive");
const perf = findTool("perf");
if (perf === null) fail("perf is not installed (Debian: apt-get install linux-perf)");
const tools = detectTools();
if (tools.wrk === null || tools.nginx === null) fail("needs wrk and nginx (apt-get install wrk nginx)");

const adminToken = "perf-kinds-admin-token";
const plan = pinningPlan();
try {
  const ports = [await freePort(), await freePort(), await freePort()];
  const originUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  await startLeanOrigins(tools.nginx, ports, plan?.load);
  const rows = [];
  for (const target of targets) {
    const reference = REFERENCE_WORKERS[target] ?? null;
    const config = reference?.config ?? "wrangler.toml";
    const bindings = reference?.bindings(originUrls) ?? { MESH_ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" };
    const bundleDir = await bundleWorker({ config, outdir: await tempDir(`perf-kinds-${target}`) });
    const started = await startWorkerTracked({ bundleDir, config, bindings, onStdout: () => {} });
    if (reference === null) await setUpService(meshClient(started.worker.url, adminToken), "bench-snapshot", "snapshot", originUrls);
    if (plan !== null) for (const pid of started.pids) await pin(pid, plan.sut);
    const url = `${started.worker.url}/bench-snapshot/item`;
    await closedLoop(tools, { url, connections, seconds: 2, cpu: plan?.load ?? null });
    const data = `${await tempDir(`perf-kinds-${target}-data`)}/perf.data`;
    const recorder = spawn(perf, ["record", "-F", "499", "-o", data, "-p", started.pids.join(",")], { stdio: "ignore" });
    const cpu0 = await cpuMs(started.pids);
    const load = await closedLoop(tools, { url, connections, seconds, cpu: plan?.load ?? null });
    const cpu = (await cpuMs(started.pids)) - cpu0;
    recorder.kill("SIGINT");
    await new Promise((resolve) => recorder.on("exit", resolve));
    const { stdout } = await run(perf, ["report", "-i", data, "--stdio", "--no-children", "--sort", "sym"], { maxBuffer: 64 * 1024 * 1024 });
    const cpuUsPerRequest = (cpu * 1000) / Math.max(1, load.requests);
    rows.push({ target, rps: load.rps, cpuUsPerRequest, byKind: usPerRequestByKind(percentByKind(stdout), cpuUsPerRequest) });
    await started.worker.dispose();
  }
  const pad = (s, n) => String(s).padStart(n);
  process.stdout.write(`µs of workerd CPU per request, by kind of code (${seconds} s at ${connections} connections, one process each)\n`);
  process.stdout.write(`${"kind".padEnd(16)}${rows.map((r) => pad(r.target, 13)).join("")}${rows.length === 2 ? pad("difference", 13) : ""}\n`);
  for (const kind of [...KINDS, "total"]) {
    const v = (r) => (kind === "total" ? r.cpuUsPerRequest : r.byKind[kind]);
    const diff = rows.length === 2 ? pad((v(rows[1]) - v(rows[0])).toFixed(1), 13) : "";
    process.stdout.write(`${kind.padEnd(16)}${rows.map((r) => pad(v(r).toFixed(1), 13)).join("")}${diff}\n`);
  }
  process.stdout.write(`req/s while sampled: ${rows.map((r) => `${r.target} ${r.rps.toFixed(0)}`).join(", ")}\n`);
} finally {
  await stopAll();
  await removeTempDirs();
}
