// Scenario 7: flow control. Rate-limit rows (issue 11):
//  - accuracy: a service with one limit (100/s, burst 10; 25/s with --quick,
//    which a busy machine can still serve at 4×) driven by an open
//    loop at 2× and 4× that rate for 10 s (4 s with --quick), for `isolate`
//    and `global` scope; the admitted rate is what the origin received, less
//    the first burst, over the span from its first arrival to its last. A
//    run whose client saw errors (other than 429) was overloaded: the row
//    says how many. Targets: within ±5% of the
//    configured rate for isolate, ±10% for global.
//  - the global limiter's Durable Object RPCs per 1,000 requests in those
//    runs, read from the objects' own counters (RateLimiter.stats()): the
//    local deny cache means refused requests cost no RPC, so the figure is
//    about the admitted share (500 at 2×, 250 at 4×), not 1,000.
//  - CPU per request added by one isolate limit: a per-call microbenchmark in
//    workerd (as scripts/bench/pick-micro.mjs measures picks): the admission
//    policy run N times on a service with one client_ip limit, against the
//    same on a service without limits, charged by the workerd process's CPU
//    time. Target ≤ 10 µs.
// Miniflare runs one isolate, so the isolate rows measure the whole mesh.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { startCpuProbe } from "../lib/cpu-probe.mjs";
import { openLoop } from "../lib/open-loop.mjs";
import { startOriginHost } from "../lib/origin-host.mjs";
import { round, sleep } from "../lib/stats.mjs";
import { tempDir } from "../lib/temp.mjs";
import { ROOT } from "../lib/worker-runtime.mjs";

export const FLOW_BURST = 10;
const SHARDS = 16; // GLOBAL_SHARDS in src/edge/admit/global-limit.ts
const TOLERANCE = { isolate: 0.05, global: 0.1 };

/**
 * @param {{ mesh: ReturnType<typeof import("../lib/mesh-client.mjs").meshClient>, mf: import("miniflare").Miniflare, quick: boolean, log: (s: string) => void }} ctx
 */
export async function flowControl({ mesh, mf, quick, log }) {
  const durationMs = quick ? 4_000 : 10_000;
  const rate = quick ? 25 : 100;
  const host = await startOriginHost();
  try {
    const origin = await host.create("flow-origin");
    const rows = [];
    for (const scope of /** @type {const} */ (["isolate", "global"])) {
      for (const factor of [2, 4]) {
        const row = await accuracyRun({ mesh, mf, host, origin, scope, factor, durationMs, rate });
        rows.push(row);
        const rpcs = row.rpcsPer1000 === null ? "" : `; ${row.rpcsPer1000} limiter RPCs per 1,000 requests`;
        log(
          `  rate limit ${scope} at ${factor}×: admitted ${row.admittedPerSecond}/s of ${rate}/s (${row.errorPercent >= 0 ? "+" : ""}${row.errorPercent}%, target ±${row.tolerancePercent}%)${rpcs}; ` +
            `${row.requests} sent over ${row.spanSeconds} s: ${row.ok} ok, ${row.refused} refused, ${row.other} other`,
        );
      }
    }
    const cpu = await cpuPerCall({ quick });
    log(`  one isolate limit: +${cpu.usAddedPerRequest} µs CPU per request (per-call microbenchmark in workerd; target ≤ 10 µs)`);
    return { rate, burst: FLOW_BURST, durationMs, rateLimit: rows, cpu };
  } finally {
    await host.close();
  }
}

async function accuracyRun({ mesh, mf, host, origin, scope, factor, durationMs, rate }) {
  const service = `flow-${scope}-${factor}x`;
  const prefix = `/${service}`;
  const limit = "bench";
  const token = await mesh.putService(service, {
    routes: { pathPrefixes: [prefix] },
    rateLimits: [{ name: limit, key: "service", ratePerSecond: rate, burst: FLOW_BURST, scope }],
  });
  await mesh.register(service, token, origin.url, { ttlSeconds: 3600 });
  // Warm the route table, the snapshot and (global) the limiter object; then let the bucket refill.
  for (let i = 0; i < 3; i++) await (await fetch(`${mesh.base}${prefix}/warm`)).arrayBuffer();
  await sleep(1_000);
  const statsBefore = scope === "global" ? await limiterStats(mf, service, limit) : null;
  const since = Date.now();
  const run = await openLoop({ url: `${mesh.base}${prefix}/x`, rate: rate * factor, durationMs, maxSockets: 512 });
  const arrivalTimes = (await host.log(origin.name, since)).arrivals;
  const arrivals = arrivalTimes.length;
  const ok = run.records.filter((r) => r.status === 200).length;
  const refused = run.records.filter((r) => r.status === 429).length;
  // The admitted rate as the origin saw it: arrivals after the first burst, over the span from the
  // first arrival to the last. Client-side timing would also charge the load generator's delays.
  const spanS = arrivals < 2 ? Number.NaN : ((arrivalTimes.at(-1) ?? 0) - (arrivalTimes[0] ?? 0)) / 1000;
  const admittedPerSecond = round((arrivals - FLOW_BURST) / spanS, 1);
  const errorPercent = round(((admittedPerSecond - rate) / rate) * 100, 1);
  let rpcsPer1000 = null;
  if (statsBefore !== null) {
    const after = await limiterStats(mf, service, limit);
    rpcsPer1000 = round(((after.takes - statsBefore.takes) / run.records.length) * 1000, 1);
  }
  const tolerancePercent = TOLERANCE[scope] * 100;
  return {
    scope,
    factor,
    offeredPerSecond: rate * factor,
    requests: run.records.length,
    ok,
    refused,
    other: run.records.length - ok - refused,
    firstOtherError: run.records.find((r) => r.status !== 200 && r.status !== 429)?.error ?? null,
    originArrivals: arrivals,
    spanSeconds: round(spanS, 2),
    admittedPerSecond,
    errorPercent,
    tolerancePercent,
    withinTarget: Math.abs(errorPercent) <= tolerancePercent,
    rpcsPer1000,
  };
}

/** The limit's objects' counters, summed over its shards (the key "service" lives in one of them). */
async function limiterStats(mf, service, limit) {
  const ns = await mf.getDurableObjectNamespace("RATE_LIMITER");
  let takes = 0;
  for (let shard = 0; shard < SHARDS; shard++) {
    const stub = ns.get(ns.idFromName(`${service}:${shard}:${limit}`));
    takes += (await stub.stats()).takes;
  }
  return { takes };
}

/** CPU per admission-policy call in workerd, with one client_ip isolate limit and without. */
export async function cpuPerCall({ quick }) {
  const dir = await tempDir("flow-micro");
  const src = (p) => JSON.stringify(path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { enforceRateLimits } from ${src("src/edge/admit/rate-limit.ts")};
const limited = { name: "bench", rateLimits: [{ name: "per-ip", key: "client_ip", ratePerSecond: 1e6, burst: 1e6, scope: "isolate" }] };
const open = { name: "bench-open" };
// The clock the policy sees, 1 ms per call, kept across calls: the buckets live on between requests.
let now = 1_000_000;
// One Request per client, made up front, so the loop charges the policy, not building requests.
const requests = Array.from({ length: 1024 }, (_, i) => new Request("https://api.example.com/items/" + i, { headers: { "cf-connecting-ip": "203.0.113." + (i & 255) + "." + (i >> 8) } }));
export default {
  fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n") ?? "0");
    const service = q.get("limited") === "1" ? limited : open;
    let refused = 0;
    let first = null;
    for (let i = 0; i < n; i++) {
      const state = { service, method: "GET", claims: null, started: now++ };
      const verdict = enforceRateLimits(state, requests[i & 1023], env);
      if (verdict !== null) {
        refused++;
        first ??= { i, retryAfterMs: verdict.retryAfterMs };
      }
    }
    return new Response(refused === 0 ? "0" : JSON.stringify({ refused, first }));
  },
};
`,
  );
  const { cpuFor, dispose } = await startCpuProbe({ name: "bench-flow-micro", dir, check: (text) => text === "0" });
  const calls = quick ? 300_000 : 2_000_000;
  try {
    for (const limited of [0, 1]) await cpuFor(`limited=${limited}&n=100000`); // warm up the JIT
    const without = await cpuFor(`limited=0&n=${calls}`);
    const withLimit = await cpuFor(`limited=1&n=${calls}`);
    return {
      method: "per-call microbenchmark in workerd: enforceRateLimits over 1,024 client IPs, workerd process CPU (/proc, 10 ms ticks)",
      calls,
      usPerCallWithout: round((without * 1e3) / calls, 3),
      usPerCallWithLimit: round((withLimit * 1e3) / calls, 3),
      usAddedPerRequest: round(((withLimit - without) * 1e3) / calls, 3),
    };
  } finally {
    await dispose();
  }
}
