#!/usr/bin/env node
// @ts-check
// Measures coordinator RPCs per second with N isolates' worth of routers and
// compares them with the scale model (docs/scale.md, "Model against measurement").
//
// N copies of the bundled mesh run as N Workers in one Miniflare (workerd keeps one
// isolate per Worker, so each has its own snapshot cache and outcome buffer); all of
// them bind the same ServiceCoordinator namespace and KV. Each router gets Poisson
// traffic at `rate` req/s for one service on real loopback origins; the coordinator
// counts snapshot(), report() and pickBatch() calls (counting-entry.mjs).
//
// usage: node scripts/scale/measure/run.mjs [--isolates 4,8,16] [--rate 2,5] [--seconds 20] [--json]
import { copyFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { startOrigins } from "../../lib/origin.mjs";
import { bundleWorker, ROOT } from "../../lib/mesh-runtime.mjs";
import { MESH } from "../model/constants.mjs";
import { reportRate, requestDrivenRefreshRate } from "../model/model.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADMIN = "scale-measure-admin";
const SERVICE = "scale";
const WARMUP_MS = 3_000;
/** A snapshot() RPC to a Durable Object in the same workerd process: about a millisecond or two. */
const REFRESH_LATENCY_MS = 2;

/**
 * A router Worker, as far as this script uses it. Miniflare types getWorker() with
 * @cloudflare/workers-types' Fetcher, which is not installed here (the Worker's own
 * types come from `wrangler types`), so tsc cannot resolve it; this is the one method called.
 * @typedef {{ fetch(url: string): Promise<Response> }} Router
 */

/** @param {string} name @param {string} fallback */
function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}
const list = (/** @type {string} */ s) => s.split(",").map(Number);

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {string} bundleDir
 * @param {number} n routers
 */
async function startMesh(bundleDir, n) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  const host = "router-0";
  const base = {
    ...workerOptions,
    modules: true,
    scriptPath: path.join(bundleDir, "counting-entry.mjs"),
    modulesRoot: bundleDir,
    // The bundle's index.js is an ES module; Miniflare's default rules would read a .js import as CommonJS.
    modulesRules: [{ type: "ESModule", include: ["**/*.js", "**/*.mjs"] }],
    bindings: { ...(workerOptions.bindings ?? {}), MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
    triggers: undefined,
  };
  const workers = Array.from({ length: n }, (_, i) => ({
    ...base,
    name: `router-${i}`,
    durableObjects: { SERVICES: { className: "CountingCoordinator", useSQLite: true, ...(i === 0 ? {} : { scriptName: host }) } },
  }));
  const mf = new Miniflare({ workers, host: "127.0.0.1", port: 0, kvPersist: false, durableObjectsPersist: false });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url };
}

/**
 * @param {{ isolates: number, rate: number, seconds: number, bundleDir: string, origins: { url: string }[] }} o
 */
async function measure({ isolates, rate, seconds, bundleDir, origins }) {
  const { mf, url } = await startMesh(bundleDir, isolates);
  try {
    const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
    const created = await fetch(`${url}/_mesh/v1/services/${SERVICE}`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ routes: { pathPrefixes: ["/s"] }, healthCheck: { intervalSeconds: 60, timeoutMs: 1000 } }),
    });
    const { registrationToken } = /** @type {{ registrationToken: string }} */ (await created.json());
    for (const o of origins) {
      const reg = await fetch(`${url}/_mesh/v1/services/${SERVICE}/instances`, {
        method: "POST",
        headers: { authorization: `Bearer ${registrationToken}`, "content-type": "application/json" },
        body: JSON.stringify({ url: o.url, ttlSeconds: 3600 }),
      });
      if (reg.status !== 201 && reg.status !== 200) throw new Error(`registration answered ${reg.status}`);
    }
    const routers = /** @type {Router[]} */ (
      /** @type {unknown} */ (await Promise.all(Array.from({ length: isolates }, (_, i) => mf.getWorker(`router-${i}`))))
    );
    const [host] = routers;
    if (host === undefined) throw new Error("--isolates must be at least 1");
    const counts = async () => /** @type {Promise<{ snapshot: number, report: number, pickBatch: number }>} */ ((await host.fetch(`http://mesh.test/__scale/counts?service=${SERVICE}`)).json());
    let sent = 0;
    let failed = 0;
    /** @type {number[]} */
    const latencies = [];
    let stop = false;
    // Open loop per router: Poisson arrivals, as the model assumes.
    const drive = async (/** @type {Router} */ w) => {
      /** @type {Promise<void>[]} */
      const inflight = [];
      while (!stop) {
        await sleep(-Math.log(1 - Math.random()) * (1000 / rate));
        const t0 = performance.now();
        sent++;
        inflight.push(
          w.fetch("http://mesh.test/s/x").then(
            async (res) => {
              await res.arrayBuffer();
              if (res.status !== 200) failed++;
              latencies.push(performance.now() - t0);
            },
            () => {
              failed++;
            },
          ),
        );
      }
      await Promise.all(inflight);
    };
    const loops = routers.map(drive);
    await sleep(WARMUP_MS);
    const before = await counts();
    const sentBefore = sent;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const after = await counts();
    const elapsed = (performance.now() - t0) / 1000;
    const sentDuring = sent - sentBefore;
    stop = true;
    await Promise.all(loops);
    const perIsolate = sentDuring / elapsed / isolates;
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)] ?? 0;
    // The model, fed the rate actually achieved. The refresh latency is the in-process RPC's (REFRESH_LATENCY_MS):
    // the request p50 measured from Node includes queueing in Node and the proxy, which a refresh does not wait for.
    const refreshModel = isolates * requestDrivenRefreshRate(MESH.snapshotTtlMs / 1000, REFRESH_LATENCY_MS / 1000, perIsolate);
    const reportModel = isolates * reportRate(perIsolate, perIsolate, 0).reportsPerS;
    const measured = { snapshot: (after.snapshot - before.snapshot) / elapsed, report: (after.report - before.report) / elapsed };
    return {
      isolates,
      requestedRate: rate,
      ratePerIsolate: perIsolate,
      // workerd here shares two cores with other work: a run that could not keep up is not a fair test of the model.
      saturated: p50 > 200 || perIsolate < 0.7 * rate,
      seconds: elapsed,
      failed,
      p50Ms: p50,
      snapshot: { measured: measured.snapshot, model: refreshModel, ratio: measured.snapshot / refreshModel },
      report: { measured: measured.report, model: reportModel, ratio: measured.report / reportModel },
    };
  } finally {
    await mf.dispose();
  }
}

const isolateCounts = list(flag("isolates", "4,8,16"));
const rates = list(flag("rate", "2,5"));
const seconds = Number(flag("seconds", "20"));
const bundleDir = await bundleWorker();
await copyFile(path.join(HERE, "counting-entry.mjs"), path.join(bundleDir, "counting-entry.mjs"));
const origins = await startOrigins(3, "scale");
const results = [];
try {
  for (const isolates of isolateCounts) {
    for (const rate of rates) {
      const r = await measure({ isolates, rate, seconds, bundleDir, origins });
      results.push(r);
      if (!process.argv.includes("--json")) {
        const f = (/** @type {number} */ x) => x.toFixed(2);
        console.log(
          `${isolates} isolates × ${f(r.ratePerIsolate)} req/s${r.saturated ? " (SATURATED)" : ""}, ${f(r.seconds)} s, p50 ${f(r.p50Ms)} ms, ${r.failed} failed: ` +
            `snapshot ${f(r.snapshot.measured)}/s vs model ${f(r.snapshot.model)}/s (${f(r.snapshot.ratio)}×), ` +
            `report ${f(r.report.measured)}/s vs model ${f(r.report.model)}/s (${f(r.report.ratio)}×)`,
        );
      }
    }
  }
} finally {
  await Promise.all(origins.map((o) => o.stop()));
}
if (process.argv.includes("--json")) console.log(JSON.stringify(results, null, 2));
