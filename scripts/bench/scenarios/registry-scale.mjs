// Scenario 4: registry scale, 1,000 services × 10 instances (quick: 100 × 10).
//  - Route match: src/core/routes/route-table.ts, bundled for Node, with 10,000
//    routes (1,000 services × 10 path prefixes, plus a host-based table of the
//    same size); ns per lookup over a mix of hits and misses.
//  - Sizes: JSON bytes of one 10-instance snapshot and of the KV route index as
//    the mesh wrote it; V8 heap they take once parsed (and the route table built).
//  - Cold load: the real mesh, seeded through the API with every service and
//    instance, persisted to disk, then restarted: the first request after a
//    restart pays isolate start, the KV route-index read and parse, the route
//    table build, the coordinator's cold start (SQLite load) and the snapshot
//    RPC. A first request to another service in the now-warm isolate pays only
//    the coordinator and snapshot part. Both are compared with a warm request.
import { writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL, fileURLToPath } from "node:url";
import { meshClient, pool } from "../lib/mesh-client.mjs";
import { startOriginHost } from "../lib/origin-host.mjs";
import { startProcess } from "../lib/procs.mjs";
import { median, round } from "../lib/stats.mjs";
import { bundleTsModule } from "../lib/ts-module.mjs";
import { startCpuProbe } from "../lib/cpu-probe.mjs";
import { cpuMs } from "../lib/cpu.mjs";
import { ROOT, startWorkerTracked, startWorkerWith } from "../lib/worker-runtime.mjs";
import { tempDir } from "../lib/temp.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PREFIXES_PER_SERVICE = 10;
/** Services created one at a time, and timed, at each end of the seeding. */
const MEASURED_CREATES = 10;
const name = (i) => `s${String(i).padStart(4, "0")}`;

/**
 * Requests in flight while seeding (both phases): SEED_CONCURRENCY, default 16.
 * The default keeps runs comparable with earlier ones; a real fleet's origins
 * register on their own, so an operator's seeding can fairly run more at once
 * (docs/performance.md, "Seeding").
 */
function seedConcurrency() {
  const raw = process.env.SEED_CONCURRENCY ?? "16";
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`SEED_CONCURRENCY must be an integer from 1 to 256, got ${JSON.stringify(raw)}`);
  return n;
}

/** Calls per comparison phase after the seeding (issue 13 §4: what a registration costs against cheaper calls through the same runtime). */
const FLOOR_SAMPLE = 2_000;

/**
 * workerd CPU per call, in ms, for calls that do less than a first
 * registration, each over the first `sample` instances, `concurrency` at a
 * time as the seeding ran:
 *  - perRepeatRegistration: the same registration again. Nothing changed, so
 *    it writes no KV (src/coordinator/membership.ts): a first registration
 *    less its KV mirror write and its new SQLite row.
 *  - perHeartbeat: authenticate (KV read of the service record, SHA-256 of
 *    the token) and renew the lease in the coordinator's SQLite.
 *  - perBareCall: GET /_mesh/v1/healthz, no auth, no KV, no Durable Object:
 *    what any request through this runtime costs.
 * Registering cannot cost less than a heartbeat; the targets project the
 * seeding at that price (report/targets.mjs).
 * @param {number[]} pids
 * @param {ReturnType<typeof meshClient>} client
 * @param {number} concurrency @param {number} sample
 * @param {(k: number) => Promise<unknown>} reregister @param {(k: number) => Promise<unknown>} heartbeat
 */
async function measureCallFloors(pids, client, concurrency, sample, reregister, heartbeat) {
  /** @param {(k: number) => Promise<unknown>} work */
  const perCall = async (work) => {
    const c0 = await cpuMs(pids);
    await pool(sample, concurrency, work);
    return round(((await cpuMs(pids)) - c0) / sample, 2);
  };
  const perRepeatRegistration = await perCall(reregister);
  const perHeartbeat = await perCall(heartbeat);
  const perBareCall = await perCall(() => client.healthz());
  return { perRepeatRegistration, perHeartbeat, perBareCall, floorSample: sample };
}

/**
 * @param {{ quick: boolean, log: (s: string) => void, bundles: { mesh: string }, adminToken: string }} ctx
 */
export async function registryScale({ quick, log, bundles, adminToken }) {
  const services = quick ? 100 : 1000;
  const instancesPer = 10;
  const restarts = quick ? 1 : 3;
  const concurrency = seedConcurrency();
  const tableModule = await bundleTsModule("src/core/routes/route-table.ts");
  const routeMatch = await measureRouteMatch(tableModule, quick);
  routeMatch.workerd = await measureRouteMatchInWorkerd(quick);
  log(
    `registry: route match at ${routeMatch.routes} routes: ${routeMatch.nsPerLookup.pathOnly} ns/lookup (path prefixes), ` +
      `${routeMatch.nsPerLookup.hostAndPath} ns/lookup (hosts + wildcards); build ${routeMatch.buildMs} ms; in workerd ${routeMatch.workerd.nsPerLookup.pathOnly} / ${routeMatch.workerd.nsPerLookup.hostAndPath} ns`,
  );

  // On tmpfs where there is one (lib/temp.mjs): the KV simulator's files, not the mesh, would otherwise set the pace.
  const persistDir = await tempDir("registry", { inMemory: true });
  // Control-plane rate limits off: seeding the registry through the API goes far past
  // the admin token's 20/s, and this scenario measures the registry, not the limiter.
  const bindings = { MESH_ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off" };
  const host = await startOriginHost();
  // Tracked: the seeding also reports workerd CPU per call, which a shared machine disturbs less than wall time.
  const tracked = await startWorkerTracked({ bundleDir: bundles.mesh, bindings, persistDir });
  let mesh = tracked.worker;
  try {
    const origin = await host.create("registry-origin", { catchAll: true });
    const client = meshClient(mesh.url, adminToken);
    log(`registry: seeding ${services} services × ${instancesPer} instances through the API (the first and last ${MEASURED_CREATES} services one at a time, timed; the rest ${concurrency} at a time)`);
    const seedStarted = Date.now();
    const cpuAtStart = await cpuMs(tracked.pids);
    /** @type {string[]} */
    const tokens = new Array(services);
    /** @param {number} s */
    const createOne = async (s) => {
      const t0 = performance.now();
      tokens[s] = await client.putService(name(s), {
        routes: { pathPrefixes: Array.from({ length: PREFIXES_PER_SERVICE }, (_, p) => `/${name(s)}/p${p}`) },
        // Probes are not what this scenario measures; keep 10,000 instances from being probed.
        healthCheck: { intervalSeconds: 3600, timeoutMs: 1000 },
      });
      return performance.now() - t0;
    };
    // Issue 13 §4: creating the 1,000th service must cost no more than creating the 10th.
    const firstCreates = [];
    for (let s = 0; s < MEASURED_CREATES; s++) firstCreates.push(await createOne(s));
    const bulk = Math.max(0, services - 2 * MEASURED_CREATES);
    await pool(bulk, concurrency, async (k) => {
      await createOne(MEASURED_CREATES + k);
      if ((k + 1) % 250 === 0) log(`  ${MEASURED_CREATES + k + 1} services (${((Date.now() - seedStarted) / 1000).toFixed(1)} s)`);
    });
    const lastCreates = [];
    for (let s = MEASURED_CREATES + bulk; s < services; s++) lastCreates.push(await createOne(s));
    const servicesMs = Date.now() - seedStarted;
    const cpuAfterServices = await cpuMs(tracked.pids);
    const regStarted = Date.now();
    /** @type {string[]} */
    const ids = new Array(services * instancesPer);
    /** @param {number} k */
    const registerOne = async (k) => {
      const s = Math.floor(k / instancesPer);
      ids[k] = (await client.register(name(s), tokens[s], `${origin.url}/${name(s)}/i${k % instancesPer}`, { ttlSeconds: 86_400 })).id;
    };
    await pool(services * instancesPer, concurrency, registerOne);
    const instancesMs = Date.now() - regStarted;
    const cpuAfterInstances = await cpuMs(tracked.pids);
    const seededMs = Date.now() - seedStarted;
    /** @param {number} k */
    const heartbeatOne = (k) => {
      const s = Math.floor(k / instancesPer);
      return client.heartbeat(name(s), tokens[s], ids[k] ?? "");
    };
    // All of workerd (the mesh, its Durable Objects and Miniflare's KV and cache simulators), in 10 ms ticks.
    const workerdCpuMs = {
      perCreate: round((cpuAfterServices - cpuAtStart) / services, 2),
      perRegistration: round((cpuAfterInstances - cpuAfterServices) / (services * instancesPer), 2),
      ...(await measureCallFloors(tracked.pids, client, concurrency, Math.min(FLOOR_SAMPLE, ids.length), registerOne, heartbeatOne)),
    };
    log(
      `  seeded in ${(seededMs / 1000).toFixed(1)} s (services ${(servicesMs / 1000).toFixed(1)} s, instances ${(instancesMs / 1000).toFixed(1)} s); ` +
        `workerd CPU ${workerdCpuMs.perCreate} ms per create, ${workerdCpuMs.perRegistration} ms per registration; ` +
        `for comparison ${workerdCpuMs.perRepeatRegistration} ms per repeat registration (no KV write), ${workerdCpuMs.perHeartbeat} ms per heartbeat, ${workerdCpuMs.perBareCall} ms per bare API call`,
    );

    // Sizes, from what the mesh actually stored and served, once the route registry's last group commit is in KV.
    const kv = await mesh.mf.getKVNamespace("REGISTRY");
    const shardTexts = await readRouteShards(kv, services);
    const index = { services: shardTexts.flatMap((t) => JSON.parse(t).services) };
    const indexText = JSON.stringify(index);
    const view = await client.describe(name(0));
    const snapshot = {
      service: name(0),
      version: view.snapshotVersion,
      instances: view.instances.map((i) => ({ id: i.id, url: i.url, weight: i.weight, zone: i.zone })),
      allUnhealthy: false,
      panic: false,
      generatedAt: Date.now(),
    };
    const snapshotText = JSON.stringify(snapshot);
    const heap = await measureHeap(snapshotText, indexText, tableModule);
    const parseBuild = measureParseBuild(indexText, await import(pathToFileURL(tableModule).href));

    // Cold loads.
    const cold = [];
    for (let r = 0; r < restarts; r++) {
      await mesh.dispose();
      mesh = await startWorkerWith({ bundleDir: bundles.mesh, bindings, persistDir });
      const a = name(Math.floor(services / 2) + r);
      const b = name(Math.floor(services / 4) + r);
      const coldIsolate = await timedGet(mesh.url, `/${a}/p5/item`);
      const warmA = await timedGet(mesh.url, `/${a}/p5/item`);
      const coldService = await timedGet(mesh.url, `/${b}/p3/item`);
      const warm = [];
      for (let i = 0; i < 20; i++) warm.push((await timedGet(mesh.url, `/${b}/p3/item`)).ms);
      for (const x of [coldIsolate, warmA, coldService]) if (x.status !== 200) throw new Error(`cold-load request answered ${x.status}: ${x.body}`);
      cold.push({ coldIsolateMs: coldIsolate.ms, secondRequestMs: warmA.ms, coldServiceMs: coldService.ms, warmMedianMs: median(warm) });
    }
    const result = {
      services,
      instancesPerService: instancesPer,
      routesInIndex: index.services.reduce((n, s) => n + s.routes.pathPrefixes.length * Math.max(1, s.routes.hosts.length), 0),
      seeding: {
        concurrency,
        servicesMs,
        instancesMs,
        registrationsPerSecond: round((services * instancesPer) / (instancesMs / 1000), 0),
        createMs: { first: round(median(firstCreates), 2), last: round(median(lastCreates), 2), samples: MEASURED_CREATES },
        totalMs: servicesMs + instancesMs,
        workerdCpuMs,
      },
      routeMatch,
      sizes: {
        snapshotJsonBytes: Buffer.byteLength(snapshotText),
        routeIndexJsonBytes: Buffer.byteLength(indexText),
        routeShards: shardTexts.length,
        largestShardJsonBytes: Math.max(...shardTexts.map((t) => Buffer.byteLength(t))),
        ...heap,
        routeIndexParseMs: parseBuild.parseMs,
        routeTableBuildMs: parseBuild.buildMs,
      },
      coldLoad: {
        restarts: cold.length,
        coldIsolateFirstRequestMs: round(median(cold.map((c) => c.coldIsolateMs)), 2),
        coldServiceInWarmIsolateMs: round(median(cold.map((c) => c.coldServiceMs)), 2),
        warmRequestMs: round(median(cold.map((c) => c.warmMedianMs)), 2),
        samples: cold.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v, 2)]))),
        note: "KV and Durable Object state on local disk (Miniflare persistence): KV reads here cost a file read, not a network round trip",
      },
    };
    log(
      `registry: route index ${(result.sizes.routeIndexJsonBytes / 1024).toFixed(0)} KiB JSON (${(result.sizes.routesLoadedHeapBytes / 1024).toFixed(0)} KiB heap with table), ` +
        `10-instance snapshot ${result.sizes.snapshotJsonBytes} B JSON / ${result.sizes.snapshotHeapBytes} B heap; ` +
        `cold isolate first request ${result.coldLoad.coldIsolateFirstRequestMs} ms, cold service ${result.coldLoad.coldServiceInWarmIsolateMs} ms, warm ${result.coldLoad.warmRequestMs} ms`,
    );
    return result;
  } finally {
    await mesh.dispose().catch(() => {});
    await host.close();
  }
}

/**
 * Every route-index shard's text once the version key accounts for all `services`
 * (the route registry writes KV up to a second after the last change).
 * @param {{ get(key: string, type: "text"): Promise<string | null> }} kv
 * @param {number} services
 */
async function readRouteShards(kv, services) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const versions = JSON.parse((await kv.get("routes:v", "text")) ?? "null");
    if (versions !== null) {
      const texts = (await Promise.all(versions.shards.map((/** @type {number} */ _v, /** @type {number} */ s) => kv.get(`routes:s:${String(s).padStart(2, "0")}`, "text")))).filter((t) => t !== null);
      const count = texts.reduce((n, t) => n + JSON.parse(t).services.length, 0);
      if (count >= services) return texts;
    }
    if (Date.now() > deadline) throw new Error("the route index never reached KV");
    await new Promise((r) => setTimeout(r, 250));
  }
}

function timedGet(base, path_) {
  const url = new URL(path_, base);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString("utf8").slice(0, 200) }));
    });
    req.on("error", (err) => resolve({ status: 0, ms: performance.now() - t0, body: String(err) }));
  });
}

/** 10,000 routes two ways (path prefixes; hosts with wildcards) and 4,096 queries for each, seeded. */
function routeWorkload() {
  const services = 1000;
  const pathRules = Array.from({ length: services }, (_, s) => ({
    service: name(s),
    hosts: [],
    pathPrefixes: Array.from({ length: PREFIXES_PER_SERVICE }, (_, p) => `/${name(s)}/p${p}`),
    stripPrefix: false,
  }));
  // 1,000 services × (5 exact hosts + 5 wildcard hosts) × 1 prefix = 10,000 routes.
  const hostRules = Array.from({ length: services }, (_, s) => ({
    service: name(s),
    hosts: [
      ...Array.from({ length: 5 }, (_, h) => `h${h}.${name(s)}.example.com`),
      ...Array.from({ length: 5 }, (_, h) => `*.w${h}.${name(s)}.example.net`),
    ],
    pathPrefixes: ["/api"],
    stripPrefix: false,
  }));
  const rnd = mulberry32(42);
  const pick = (n) => Math.floor(rnd() * n);
  // 90% hits with 1-3 extra path segments, 10% misses.
  const pathQueries = Array.from({ length: 4096 }, () =>
    rnd() < 0.9 ? ["any.example.com", `/${name(pick(services))}/p${pick(10)}/items/${pick(1000)}${rnd() < 0.5 ? "/detail" : ""}`] : ["any.example.com", `/nope/${pick(1000)}/x`],
  );
  const hostQueries = Array.from({ length: 4096 }, () => {
    const s = name(pick(services));
    const r = rnd();
    if (r < 0.45) return [`h${pick(5)}.${s}.example.com`, `/api/orders/${pick(1000)}`];
    if (r < 0.9) return [`tenant${pick(100)}.w${pick(5)}.${s}.example.net`, "/api/orders"];
    return [`x.${s}.example.org`, "/api"];
  });
  return { pathRules, hostRules, pathQueries, hostQueries };
}

/** Lookups in Node, timed with performance.now(). */
async function measureRouteMatch(tableModule, quick) {
  const { RouteTable } = await import(pathToFileURL(tableModule).href);
  const w = routeWorkload();
  const t0 = performance.now();
  const pathTable = new RouteTable(w.pathRules);
  const buildMs = performance.now() - t0;
  const hostTable = new RouteTable(w.hostRules);
  const iterations = quick ? 200_000 : 1_000_000;
  const time = (table, queries) => {
    let hits = 0;
    for (let i = 0; i < 20_000; i++) {
      const [h, p] = queries[i & 4095];
      if (table.match(h, p) !== undefined) hits++;
    }
    const start = performance.now();
    for (let i = 0; i < iterations; i++) {
      const [h, p] = queries[i & 4095];
      if (table.match(h, p) !== undefined) hits++;
    }
    const ns = ((performance.now() - start) * 1e6) / iterations;
    return { ns: round(ns, 0), hitRate: round(hits / (iterations + 20_000), 3) };
  };
  const p = time(pathTable, w.pathQueries);
  const h = time(hostTable, w.hostQueries);
  return {
    routes: pathTable.size,
    hostTableRoutes: hostTable.size,
    iterations,
    buildMs: round(buildMs, 2),
    nsPerLookup: { pathOnly: p.ns, hostAndPath: h.ns },
    hitRate: { pathOnly: p.hitRate, hostAndPath: h.hitRate },
    runtime: `Node ${process.versions.node} (V8 ${process.versions.v8})`,
  };
}

/**
 * The same lookups inside workerd. A Worker cannot time itself (its clocks do not
 * advance while JavaScript runs), so we charge the workerd process's CPU time:
 * (CPU of a request doing N lookups − CPU of a request doing none) / N.
 */
async function measureRouteMatchInWorkerd(quick) {
  const dir = await tempDir("routes-worker");
  await writeFile(path.join(dir, "workload.json"), JSON.stringify(routeWorkload()));
  await writeFile(
    path.join(dir, "index.js"),
    `import { RouteTable } from ${JSON.stringify(path.join(ROOT, "src/core/routes/route-table.ts"))};
import w from "./workload.json";
const tables = { path: [new RouteTable(w.pathRules), w.pathQueries], host: [new RouteTable(w.hostRules), w.hostQueries] };
export default {
  fetch(request) {
    const url = new URL(request.url);
    const [table, queries] = tables[url.searchParams.get("table") ?? "path"];
    const n = Number(url.searchParams.get("n") ?? "0");
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const q = queries[i & 4095];
      if (table.match(q[0], q[1]) !== undefined) hits++;
    }
    return new Response(String(hits));
  },
};
`,
  );
  const { cpuFor: cpuOf, dispose } = await startCpuProbe({ name: "bench-route-match", dir });
  try {
    const n = quick ? 1_000_000 : 4_000_000;
    /** @param {string} table @param {number} count */
    const cpuFor = (table, count) => cpuOf(`table=${table}&n=${count}`);
    const out = {};
    for (const table of ["path", "host"]) {
      await cpuFor(table, 200_000); // warm up the JIT
      const idle = await cpuFor(table, 0);
      const busy = await cpuFor(table, n);
      out[table] = round(((busy - idle) * 1e6) / n, 0);
    }
    return { lookups: n, nsPerLookup: { pathOnly: out.path, hostAndPath: out.host }, method: "workerd process CPU time per lookup (/proc, 10 ms ticks)" };
  } finally {
    await dispose();
  }
}

async function measureHeap(snapshotText, indexText, tableModule) {
  const dir = await tempDir("heap");
  const snapFile = path.join(dir, "snapshot.json");
  const indexFile = path.join(dir, "routes.json");
  await writeFile(snapFile, snapshotText);
  await writeFile(indexFile, indexText);
  const proc = startProcess(process.execPath, ["--expose-gc", path.join(HERE, "../lib/heap-process.mjs"), snapFile, indexFile, tableModule], { name: "heap measurement" });
  const { code } = await proc.exited;
  const line = proc.output.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`heap measurement failed: ${proc.output}`);
  return JSON.parse(line);
}

function measureParseBuild(indexText, { RouteTable }) {
  const runs = 5;
  let parse = 0;
  let build = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const index = JSON.parse(indexText);
    const t1 = performance.now();
    new RouteTable(index.services.map((s) => ({ service: s.name, ...s.routes })));
    new Map(index.services.map((s) => [s.name, s]));
    build += performance.now() - t1;
    parse += t1 - t0;
  }
  return { parseMs: round(parse / runs, 2), buildMs: round(build / runs, 2) };
}

function mulberry32(seed) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
