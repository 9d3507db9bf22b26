// `npm run bench` / `npm run bench:quick`: Switchyard's benchmarks, end to end
// on 127.0.0.1. Starts its own origins, the mesh and a bare pass-through
// Worker in workerd (Miniflare), nginx and HAProxy when installed, runs
// bounded load, prints progress, and writes bench/results/<date>.json, .md and
// two SVG charts (plus latest.* copies). See bench/README.md.
//
//   node scripts/bench/run.mjs [--quick] [--only steady,failover,health,registry,control,bundle,slow,routers,flow,budget,metrics] [--out dir] [--tag name]
//   node scripts/bench/run.mjs --render bench/results/<date>.json   (rewrite its .md and charts only)
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { pinningPlan } from "./lib/cpu.mjs";
import { meshClient } from "./lib/mesh-client.mjs";
import { stopAll } from "./lib/procs.mjs";
import { removeTempDirs, tempDir } from "./lib/temp.mjs";
import { detectTools, INSTALL_HINT } from "./lib/tools.mjs";
import { bundleWorker, ROOT, startWorkerTracked } from "./lib/worker-runtime.mjs";
import { markdownReport } from "./report/markdown.mjs";
import { failoverChart, throughputChart } from "./report/svg.mjs";
import { evaluateTargets } from "./report/targets.mjs";
import { bundleSize } from "./scenarios/bundle.mjs";
import { controlPlane } from "./scenarios/control-plane.mjs";
import { failover } from "./scenarios/failover.mjs";
import { flowControl } from "./scenarios/flow-control.mjs";
import { healthScale } from "./scenarios/health-scale.mjs";
import { metricsCost } from "./scenarios/metrics-cost.mjs";
import { registryScale } from "./scenarios/registry-scale.mjs";
import { nRouters } from "./scenarios/n-routers.mjs";
import { retryBudget } from "./scenarios/retry-budget.mjs";
import { slowOrigin } from "./scenarios/slow-origin.mjs";
import { HANDROLLED_CONFIG, PASSTHROUGH_CONFIG, steadyState } from "./scenarios/steady.mjs";

const run = promisify(execFile);
const ALL = ["bundle", "steady", "failover", "health", "control", "registry", "slow", "routers", "flow", "budget", "metrics"];
const ADMIN_TOKEN = "bench-admin-token";

function parseArgs(argv) {
  const opts = { quick: false, only: ALL, out: path.join(ROOT, "bench/results"), tag: "", render: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const [, inline] = a.split("=", 2);
      return inline ?? argv[++i] ?? "";
    };
    if (a === "--quick") opts.quick = true;
    else if (a.startsWith("--only")) opts.only = value().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith("--out")) opts.out = path.resolve(value());
    else if (a.startsWith("--tag")) opts.tag = value().replace(/[^a-z0-9-]/gi, "");
    else if (a.startsWith("--render")) opts.render = path.resolve(value());
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`usage: node scripts/bench/run.mjs [--quick] [--only ${ALL.join(",")}] [--out dir] [--tag name]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  const unknown = opts.only.filter((s) => !ALL.includes(s));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(", ")}; choose from ${ALL.join(", ")}`);
  return opts;
}

const started = Date.now();
const log = (line) => {
  const s = Math.floor((Date.now() - started) / 1000);
  process.stdout.write(`[${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}] ${line}\n`);
};

async function gitInfo() {
  try {
    const { stdout: commit } = await run("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT });
    const { stdout: status } = await run("git", ["status", "--porcelain", "--", "src", "workers", "wrangler.toml", "package.json"], { cwd: ROOT });
    return { commit: commit.trim(), dirty: status.trim() !== "" };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

async function version(pkg) {
  try {
    return JSON.parse(await readFile(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}


/** Writes <stem>.json/.md and the charts; `latest` also refreshes the latest.* copies. */
async function writeResults(result, out, stem, latest) {
  await mkdir(out, { recursive: true });
  const files = { json: `${stem}.json`, md: `${stem}.md`, throughputSvg: `${stem}-throughput.svg`, failoverSvg: `${stem}-failover.svg` };
  await writeFile(path.join(out, files.json), `${JSON.stringify(result, null, 2)}\n`);
  if (result.scenarios.steady?.rows) await writeFile(path.join(out, files.throughputSvg), throughputChart(result.scenarios.steady, result.meta));
  if (result.scenarios.failover?.runs) await writeFile(path.join(out, files.failoverSvg), failoverChart(result.scenarios.failover, result.meta));
  await writeFile(path.join(out, files.md), markdownReport(result, files));
  // A stable name for the last complete run, for links from the README.
  if (latest) {
    const names = { json: "latest.json", md: "latest.md", throughputSvg: "latest-throughput.svg", failoverSvg: "latest-failover.svg" };
    await copyFile(path.join(out, files.json), path.join(out, names.json));
    for (const k of ["throughputSvg", "failoverSvg"]) await copyFile(path.join(out, files[k]), path.join(out, names[k])).catch(() => {});
    await writeFile(path.join(out, names.md), markdownReport(result, names));
  }
  return files;
}

/** --render: re-create the Markdown and charts of a saved run (after a report change). */
async function render(file) {
  const result = JSON.parse(await readFile(file, "utf8"));
  result.targets = evaluateTargets(result);
  const stem = path.basename(file, ".json");
  const latest = stem !== "latest" && !stem.includes("-quick") && stem === result.meta.date && result.meta.scenarios.length === ALL.length;
  await writeResults(result, path.dirname(file), stem, latest);
  log(`rendered ${path.relative(ROOT, file)}${latest ? " (and latest.*)" : ""}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render !== null) return render(opts.render);
  const tools = detectTools();
  const mode = opts.quick ? "quick" : "full";
  const date = new Date().toISOString().slice(0, 10);
  log(`Switchyard bench (${mode}): ${opts.only.join(", ")}`);
  for (const [name, p] of Object.entries(tools)) {
    log(p === null ? `  ${name}: not installed — ${name === "wrk" ? "using the Node load generator" : "its row is skipped"} (${INSTALL_HINT[name]})` : `  ${name}: ${p}`);
  }
  const plan = pinningPlan();
  log(plan === null ? "  CPU pinning: off" : `  CPU pinning: system under test on CPU ${plan.sut}, load and origins on CPU ${plan.load}`);

  const result = {
    meta: {
      date,
      mode,
      startedAt: new Date(started).toISOString(),
      durationSeconds: 0,
      git: await gitInfo(),
      node: process.versions.node,
      miniflare: await version("miniflare"),
      wrangler: await version("wrangler"),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
      tools,
      pinning: plan,
      scenarios: opts.only,
    },
    scenarios: {},
    targets: [],
    errors: [],
  };

  // The bundle-size and metrics scenarios build what they need themselves.
  const needsWorkers = opts.only.some((s) => s !== "bundle" && s !== "metrics");
  let bundles = null;
  if (needsWorkers) {
    // Only the steady-state scenario runs the pass-through and hand-rolled reference Workers.
    const withBaseline = opts.only.includes("steady");
    log(`bundling the mesh${withBaseline ? ", the pass-through and the hand-rolled failover Worker" : ""} (wrangler deploy --dry-run)`);
    bundles = {
      mesh: await bundleWorker({ outdir: await tempDir("mesh-bundle") }),
      passthrough: withBaseline ? await bundleWorker({ config: PASSTHROUGH_CONFIG, outdir: await tempDir("passthrough-bundle") }) : null,
      handrolled: withBaseline ? await bundleWorker({ config: HANDROLLED_CONFIG, outdir: await tempDir("handrolled-bundle") }) : null,
    };
  }

  async function scenario(key, label, fn) {
    const t0 = Date.now();
    log(`— ${label}`);
    try {
      result.scenarios[key] = await fn();
      log(`  ${label} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`  ${label} FAILED: ${message}`);
      if (process.env.BENCH_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      result.errors.push({ scenario: key, message });
    }
  }

  if (opts.only.includes("bundle")) await scenario("bundle", "6. bundle size", () => bundleSize({ log }));
  if (opts.only.includes("steady") && bundles) {
    await scenario("steady", "1. steady state", () => steadyState({ tools, quick: opts.quick, log, bundles, adminToken: ADMIN_TOKEN }));
  }
  // Scenarios 2, 3 and 5 share one fresh mesh (REQUEST_LOG off), each on its own services.
  // Control-plane rate limits off: health-scale registers 1,000 instances and the
  // control-plane scenario drives the API as fast as it goes, so with the limits
  // on (admin 20/s) these figures would measure the limiter, not the mesh.
  const shared = ["failover", "health", "control", "budget"].filter((s) => opts.only.includes(s));
  if (shared.length > 0 && bundles) {
    const { worker, pids: meshPids } = await startWorkerTracked({
      bundleDir: bundles.mesh,
      bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off" },
    });
    const mesh = meshClient(worker.url, ADMIN_TOKEN);
    try {
      if (shared.includes("failover")) await scenario("failover", "2. failover under load", () => failover({ mesh, quick: opts.quick, log }));
      if (shared.includes("health")) await scenario("health", "3. health-check scale", () => healthScale({ mesh, meshPids, quick: opts.quick, log }));
      if (shared.includes("control")) await scenario("controlPlane", "5. control-plane throughput", () => controlPlane({ mesh, quick: opts.quick, log }));
      if (shared.includes("budget")) await scenario("retryBudget", "7. retry amplification (retry budget)", () => retryBudget({ mesh, quick: opts.quick, log }));
    } finally {
      await worker.dispose();
    }
  }
  if (opts.only.includes("slow") && bundles) {
    await scenario("slow", "7. one slow origin, per balancer", () => slowOrigin({ tools, quick: opts.quick, log, bundles, adminToken: ADMIN_TOKEN }));
  }
  if (opts.only.includes("registry") && bundles) {
    await scenario("registry", "4. registry scale", () => registryScale({ quick: opts.quick, log, bundles, adminToken: ADMIN_TOKEN }));
  }
  if (opts.only.includes("routers") && bundles) {
    await scenario("routers", "8. coordinator load vs routers (issue 13 §3)", () => nRouters({ quick: opts.quick, log, bundles, adminToken: ADMIN_TOKEN }));
  }

  // Flow control on a mesh of its own, so its limits and limiter objects meet no other scenario's traffic.
  if (opts.only.includes("flow") && bundles) {
    const { worker } = await startWorkerTracked({
      bundleDir: bundles.mesh,
      bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off" },
    });
    try {
      await scenario("flow", "9. flow control", () => flowControl({ mesh: meshClient(worker.url, ADMIN_TOKEN), mf: worker.mf, quick: opts.quick, log }));
    } finally {
      await worker.dispose();
    }
  }

  if (opts.only.includes("metrics")) await scenario("metrics", "7. metrics cost per request", () => metricsCost({ quick: opts.quick, log }));

  result.meta.durationSeconds = Math.round((Date.now() - started) / 1000);
  result.targets = evaluateTargets(result);

  const stem = `${date}${opts.quick ? "-quick" : ""}${opts.tag ? `-${opts.tag}` : ""}`;
  const files = await writeResults(result, opts.out, stem, !opts.quick && opts.tag === "" && opts.only.length === ALL.length);
  log(`results: ${path.relative(ROOT, path.join(opts.out, files.md))} (+ .json, charts)`);
  for (const t of result.targets) log(`  ${t.pass === null ? "—" : t.pass ? "MET   " : "MISSED"}  ${t.scenario.padEnd(10)} ${t.target}: ${t.measured}`);
  if (result.errors.length > 0) process.exitCode = 1;
}

process.on("SIGINT", () => {
  log("interrupted; stopping child processes");
  // stopAll settles every child and never rejects; exit once they are gone.
  void stopAll().finally(() => process.exit(130));
});

main()
  .catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    await removeTempDirs();
  });
