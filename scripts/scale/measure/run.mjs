#!/usr/bin/env node
// @ts-check
// Measures coordinator RPCs per second on 127.0.0.1 and compares them with the
// scale model (docs/scale.md, "Model against measurement"). Bounded: every run
// is a warm-up plus `--seconds`, and nothing is left running.
//
// Routers: one "core" Worker holds the coordinator and the API, N router
// Workers bind its classes and KV. workerd keeps one isolate per Worker and
// Miniflare gives all of them one Cache API, so the N routers stand for N
// isolates of one location. Each router gets Poisson traffic at `--rate` req/s
// for one service on three loopback origins, with SNAPSHOT_SHARING off and
// "cache"; each (N, sharing) is started `--repeat` times, because every start
// draws the isolates' refresh leads anew. The coordinator's own counters
// (describe(): routerRpcs, strictPicks) are read before and after.
//
// Strict: one router, a strict-mode service (STRICT_LEASES on, the default) at
// `--strict-rate` req/s: leaseSlots RPCs/s against the model's λ / k.
//
// usage: node scripts/scale/measure/run.mjs [--only routers|strict] [--routers 4,8] [--rate 10] [--repeat 3]
//        [--seconds 10] [--strict-rate 50] [--json]
// (At 200 req/s this shared 2-core machine saturated: probes timed out and picks failed; 50 keeps up.)
import { startFleet } from "../../bench/lib/fleet.mjs";
import { startOrigins } from "../../lib/origin.mjs";
import { bundleWorker } from "../../lib/mesh-runtime.mjs";
import { MESH } from "../model/constants.mjs";
import { claimWindowS, sharedRefreshRate } from "../model/shared-refresh.mjs";
import { leaseBlockSize, leasedSlotRate } from "../model/strict.mjs";
import { LOCAL_RPC_MS, predictRoutersRun } from "./compare.mjs";

const ADMIN = "scale-measure-admin";
const SERVICE = "scale";
const WARMUP_MS = 3_000;

/**
 * A Worker, as far as this script uses it. Miniflare types getWorker() with
 * @cloudflare/workers-types' Fetcher, which is not installed here (the Worker's own
 * types come from `wrangler types`), so tsc cannot resolve it; this is the one method called.
 * @typedef {{ fetch(url: string): Promise<Response> }} Router
 * @typedef {{ routerRpcs: { snapshots: number, reports: number }, strictPicks: { rpcs: number, picks: number, leases: number, slots: number } }} Counters
 * @typedef {{ describe(): Promise<Counters> }} CoordinatorStub
 */

/** @param {string} name @param {string} fallback */
function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}
const list = (/** @type {string} */ s) => s.split(",").map(Number);
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {string} bundleDir @param {number} n routers @param {Record<string, string>} vars
 */
async function startRouters(bundleDir, n, vars) {
  const bindings = { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off", ...vars };
  // The Workers' own log lines (a failed pick, an ejection) are counted, not printed: the count says a run went wrong.
  const logs = { lines: 0 };
  const { mf, url } = await startFleet({ bundleDir, routers: n, bindings, onLogLine: () => logs.lines++ });
  return { mf, url, logs };
}

/**
 * Starts a fleet, creates the service on the origins, drives Poisson traffic and counts the coordinator's RPCs.
 * @param {{ bundleDir: string, origins: { url: string }[], routers: number, rate: number, seconds: number,
 *           vars: Record<string, string>, strict: boolean }} o
 */
async function measure({ bundleDir, origins, routers: n, rate, seconds, vars, strict }) {
  const { mf, url, logs } = await startRouters(bundleDir, n, vars);
  try {
    const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
    const created = await fetch(`${url}/_mesh/v1/services/${SERVICE}`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({
        routes: { pathPrefixes: ["/s"] },
        healthCheck: { intervalSeconds: 60, timeoutMs: 1000 },
        ...(strict ? { routing: { mode: "strict" } } : {}),
      }),
    });
    if (created.status !== 201 && created.status !== 200) throw new Error(`PUT service answered ${created.status}: ${await created.text()}`);
    const { registrationToken } = /** @type {{ registrationToken: string }} */ (await created.json());
    for (const o of origins) {
      const reg = await fetch(`${url}/_mesh/v1/services/${SERVICE}/instances`, {
        method: "POST",
        headers: { authorization: `Bearer ${registrationToken}`, "content-type": "application/json" },
        body: JSON.stringify({ url: o.url, ttlSeconds: 3600 }),
      });
      if (reg.status !== 201 && reg.status !== 200) throw new Error(`registration answered ${reg.status}`);
    }
    // The registry's group commit reaches KV within a second; the routers read routes from there.
    await sleep(1_500);
    const workers = /** @type {Router[]} */ (/** @type {unknown} */ (await Promise.all(Array.from({ length: n }, (_, i) => mf.getWorker(`router-${i}`)))));
    // Typed as a plain shape for the same reason as Router: the workers-types it is declared with are not installed.
    const ns = /** @type {{ get(id: unknown): CoordinatorStub, idFromName(name: string): unknown }} */ (
      /** @type {unknown} */ (await mf.getDurableObjectNamespace("SERVICES", "core"))
    );
    const stub = ns.get(ns.idFromName(SERVICE));
    let sent = 0;
    let failed = 0;
    let stop = false;
    // Open loop per router: Poisson arrivals, as the model assumes, on an absolute schedule so that a
    // late timer on a busy machine sends what fell due meanwhile instead of lowering the rate.
    const drive = async (/** @type {Router} */ w) => {
      /** @type {Promise<void>[]} */
      const inflight = [];
      let due = performance.now();
      while (!stop) {
        due += -Math.log(1 - Math.random()) * (1000 / rate);
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        sent++;
        inflight.push(
          w.fetch("http://mesh.test/s/x").then(
            async (res) => {
              await res.arrayBuffer();
              if (res.status !== 200) failed++;
            },
            () => {
              failed++;
            },
          ),
        );
      }
      await Promise.all(inflight);
    };
    const loops = workers.map(drive);
    await sleep(WARMUP_MS);
    const before = await stub.describe();
    const sentBefore = sent;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const after = await stub.describe();
    const elapsed = (performance.now() - t0) / 1000;
    const ratePerRouter = (sent - sentBefore) / elapsed / n;
    stop = true;
    await Promise.all(loops);
    const per = (/** @type {number} */ a, /** @type {number} */ b) => (a - b) / elapsed;
    return {
      routers: n,
      ratePerRouter,
      seconds: elapsed,
      failed,
      workerLogLines: logs.lines,
      // The machine is shared: a run that could not keep up (rate, clock, errors) is not a test of the model.
      saturated: ratePerRouter < 0.9 * rate || elapsed > 1.2 * seconds || failed > 0,
      snapshots: per(after.routerRpcs.snapshots, before.routerRpcs.snapshots),
      reports: per(after.routerRpcs.reports, before.routerRpcs.reports),
      leases: per(after.strictPicks.leases, before.strictPicks.leases),
      strictRpcs: per(after.strictPicks.rpcs, before.strictPicks.rpcs),
      slotsPerLease: (after.strictPicks.slots - before.strictPicks.slots) / Math.max(1, after.strictPicks.leases - before.strictPicks.leases),
    };
  } finally {
    await mf.dispose();
  }
}

const only = flag("only", "");
const seconds = Number(flag("seconds", "10"));
const repeat = Number(flag("repeat", "3"));
const json = process.argv.includes("--json");
const f = (/** @type {number} */ x) => x.toFixed(2);
const bundleDir = await bundleWorker();
const origins = await startOrigins(3, "scale");
/** @type {unknown[]} */
const results = [];
try {
  if (only !== "strict") {
    for (const routers of list(flag("routers", "4,8"))) {
      for (const rate of list(flag("rate", "10"))) {
        for (const sharing of /** @type {const} */ (["off", "cache"])) {
          for (let i = 0; i < repeat; i++) {
            const r = await measure({ bundleDir, origins, routers, rate, seconds, vars: { SNAPSHOT_SHARING: sharing }, strict: false });
            const model = predictRoutersRun({ routers, sharing, ratePerRouter: r.ratePerRouter, arrivals: "poisson", measuredSnapshotRpcsPerS: r.snapshots });
            results.push({ kind: "routers", sharing, ...r, model });
            if (!json) {
              console.log(
                `${routers} routers × ${f(r.ratePerRouter)} req/s${r.saturated ? " (SATURATED)" : ""}, sharing ${sharing}, ${f(r.seconds)} s, ${r.failed} failed, ${r.workerLogLines} worker log lines: ` +
                  `snapshot ${f(r.snapshots)}/s vs model ${f(model.model)}/s (${f(model.ratio)}×; lead draws 10–90 % ${f(model.p10)}–${f(model.p90)})`,
              );
            }
          }
        }
      }
    }
  }
  if (only !== "routers") {
    const rate = Number(flag("strict-rate", "50"));
    const r = await measure({ bundleDir, origins, routers: 1, rate, seconds, vars: {}, strict: true });
    const leases = leasedSlotRate(r.ratePerRouter);
    const refresh = sharedRefreshRate({
      isolates: 1,
      rate: r.ratePerRouter,
      ttlS: MESH.snapshotTtlMs / 1000,
      spreadS: MESH.shareSpreadMs / 1000,
      windowS: claimWindowS({ rttS: LOCAL_RPC_MS / 1000, cacheOpS: MESH.cacheOpMs / 1000, settleS: MESH.claimSettleMs / 1000 }),
    }).rpcsPerS;
    results.push({ kind: "strict", ...r, model: { leases, blockSize: leaseBlockSize(r.ratePerRouter), snapshots: refresh } });
    if (!json) {
      console.log(
        `strict, 1 router × ${f(r.ratePerRouter)} req/s${r.saturated ? " (SATURATED)" : ""}, ${f(r.seconds)} s, ${r.failed} failed: leaseSlots ${f(r.leases)}/s vs model ${f(leases)}/s ` +
          `(${f(r.leases / leases)}×), ${f(r.slotsPerLease)} slots per lease vs model ${leaseBlockSize(r.ratePerRouter)}, ` +
          `all strict RPCs ${f(r.strictRpcs)}/s; snapshot ${f(r.snapshots)}/s vs model ${f(refresh)}/s (${f(r.snapshots / refresh)}×)`,
      );
    }
  }
} finally {
  await Promise.all(origins.map((o) => o.stop()));
}
if (json) console.log(JSON.stringify(results, null, 2));
