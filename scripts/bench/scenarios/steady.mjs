// Scenario 1: steady state, 3 healthy origins, GET, small body. Every row is
// one proxy in front of the same origins, driven by the same closed-loop
// generator:
//   origin direct | pass-through Worker | hand-rolled failover Worker |
//   mesh snapshot | mesh strict | mesh snapshot with every request line |
//   nginx | HAProxy
// The mesh rows run the shipped wrangler.toml as is (REQUEST_LOG="json" with
// REQUEST_LOG_SAMPLE="0.1": a line for 1 plain success in 10 and for every
// other request), so the headline row measures what users deploy; the
// every-line row (REQUEST_LOG_SAMPLE="1") shows what writing them all costs.
// The hand-rolled failover Worker does the work any correct proxy must (the
// mesh's header rules, a per-try timeout, failover) and nothing else, so the
// mesh's cost splits into "proxying correctly" and "the mesh itself".
// Rounds are interleaved (row A, B, C..., then again) so drift on a shared
// machine lands on every row alike; each number is the median over rounds.
// Every Worker row runs in WORKER_COPIES workerd processes, measured one after
// the other in each round and averaged: two processes of the same bundle can
// differ by up to 0.12x for their whole life on this machine (docs/performance.md,
// "A/B between bundles"), which interleaving alone does not remove.
// Two passes per round: throughput (many connections, the proxy saturated)
// and latency (one connection, nothing queued: what the proxy adds to a request).
import { cpuMs, childPids, pin, pinningPlan } from "../lib/cpu.mjs";
import { closedLoop } from "../lib/load.mjs";
import { meshClient } from "../lib/mesh-client.mjs";
import { startHaproxy, startLeanOrigins, startNginxProxy } from "../lib/native-servers.mjs";
import { freePort } from "../lib/procs.mjs";
import { pairedMedian, summarizeSteady } from "../analysis/steady.mjs";
import { foreignLoad } from "../lib/sysload.mjs";
import { INSTALL_HINT } from "../lib/tools.mjs";
import { startWorkerTracked } from "../lib/worker-runtime.mjs";

export const PASSTHROUGH_CONFIG = "workers/passthrough/wrangler.toml";
/** workerd processes per Worker row (full runs; a quick run uses one). */
const WORKER_COPIES = 2;
/** The rows whose request lines the report counts per request: as shipped (sampled) and every line. */
const LOGGED_ROWS = new Set(["snapshot", "snapshot-every-line"]);
export const HANDROLLED_CONFIG = "workers/handrolled/wrangler.toml";
/** The reference Workers by target name: their config, and their bindings for the origins' URLs (profile.mjs, perf-kinds.mjs). */
export const REFERENCE_WORKERS = {
  passthrough: { config: PASSTHROUGH_CONFIG, bindings: (/** @type {string[]} */ urls) => ({ ORIGIN_URL: urls[0] }) },
  handrolled: { config: HANDROLLED_CONFIG, bindings: (/** @type {string[]} */ urls) => ({ ORIGIN_URLS: urls.join(",") }) },
};
/**
 * The hand-rolled Worker's second row guards small answers as the mesh's try
 * stage does (issue 9: read whole within the body idle limit, a break or stall
 * relayed as a stream that errors), with the mesh's default limit,
 * `retry.bodyIdleTimeoutMs` (src/core/schema/service.ts; a unit test keeps the two equal).
 */
export const GUARD_BODY_IDLE_MS = 30_000;

export async function setUpService(client, name, mode, originUrls) {
  const token = await client.putService(name, { routes: { pathPrefixes: [`/${name}`] }, routing: { mode } });
  for (const url of originUrls) await client.register(name, token, url, { ttlSeconds: 3600 });
}

/** One GET per row before measuring: a row that does not answer 200 from an origin is a setup bug, not a result. */
async function checkRow(row) {
  const res = await fetch(row.url);
  const body = await res.text();
  if (res.status !== 200 || !body.includes('"origin"')) throw new Error(`${row.label}: ${res.status} ${body.slice(0, 200)}`);
  if (row.kind === "mesh" && res.headers.get("x-mesh-instance") === null) throw new Error(`${row.label}: no x-mesh-instance header`);
  if (row.id === "handrolled" && res.headers.get("x-served-by") === null) throw new Error(`${row.label}: no x-served-by header`);
}

/**
 * @param {{ tools: Record<string, string | null>, quick: boolean, log: (s: string) => void,
 *           bundles: { mesh: string, passthrough: string, handrolled: string }, adminToken: string }} ctx
 */
export async function steadyState({ tools, quick, log, bundles, adminToken }) {
  const plan = pinningPlan();
  const cfg = quick
    ? { rounds: 1, throughputSeconds: 3, latencySeconds: 2, connections: 16, warmSeconds: 1 }
    : // More, shorter rounds beat fewer long ones on a shared machine: a burst of outside
      // load spoils one round, and the median over rounds drops it.
      { rounds: 5, throughputSeconds: 4, latencySeconds: 2, connections: 16, warmSeconds: 1 };
  const skipped = [];
  const cleanups = [];
  try {
    const originPorts = [await freePort(), await freePort(), await freePort()];
    const originUrls = originPorts.map((p) => `http://127.0.0.1:${p}`);
    const { proc: originProc, kind: originKind } = await startLeanOrigins(tools.nginx, originPorts, plan?.load);
    cleanups.push(() => originProc.stop());

    const meshBindings = { MESH_ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_ORIGINS: "true" };
    const copies = quick ? 1 : WORKER_COPIES;
    /** Starts `copies` processes of one Worker; `setUp` runs against each (the mesh's services). */
    const startCopies = async (opts, setUp) => {
      const started = [];
      for (let c = 0; c < copies; c++) {
        const w = await startWorkerTracked(opts);
        cleanups.push(() => w.worker.dispose());
        if (setUp !== undefined) await setUp(w);
        started.push(w);
      }
      return started;
    };
    const pt = await startCopies({ bundleDir: bundles.passthrough, config: PASSTHROUGH_CONFIG, bindings: { ORIGIN_URL: originUrls[0] } });
    const hr = await startCopies({ bundleDir: bundles.handrolled, config: HANDROLLED_CONFIG, bindings: { ORIGIN_URLS: originUrls.join(",") } });
    const hrGuard = await startCopies({
      bundleDir: bundles.handrolled,
      config: HANDROLLED_CONFIG,
      bindings: { ORIGIN_URLS: originUrls.join(","), BODY_IDLE_MS: String(GUARD_BODY_IDLE_MS) },
    });
    // No REQUEST_LOG binding: the shipped default from wrangler.toml. Its lines are counted, not printed.
    // One count for every mesh process: rows are measured one at a time, so its change during a row is that row's.
    let logLines = 0;
    const countLines = (/** @type {string} */ line) => {
      if (line.includes('"event":"request"')) logLines++;
    };
    const mesh = await startCopies(
      {
        bundleDir: bundles.mesh,
        bindings: meshBindings,
        onStdout: countLines,
      },
      async (w) => {
        const client = meshClient(w.worker.url, adminToken);
        await setUpService(client, "bench-snapshot", "snapshot", originUrls);
        await setUpService(client, "bench-strict", "strict", originUrls);
      },
    );
    const meshEveryLine = await startCopies({ bundleDir: bundles.mesh, bindings: { ...meshBindings, REQUEST_LOG_SAMPLE: "1" }, onStdout: countLines }, (w) =>
      setUpService(meshClient(w.worker.url, adminToken), "bench-snapshot", "snapshot", originUrls),
    );
    const clients = mesh.map((w) => meshClient(w.worker.url, adminToken));
    /** One row's processes: where to send its load, whose CPU to read, and (strict) whose counters. */
    const workerCopies = (started, path, withClient = false) =>
      started.map((w, i) => ({ url: `${w.worker.url}${path}`, pids: async () => w.pids, client: withClient ? clients[i] : undefined }));
    const single = (url, pids) => [{ url, pids, client: undefined }];

    const rows = [
      { id: "origin", label: "origin direct", kind: "origin", copies: single(`${originUrls[0]}/bench-snapshot/item`, async () => [originProc.pid, ...(await childPids(originProc.pid))]) },
      { id: "passthrough", label: "pass-through Worker", kind: "worker", copies: workerCopies(pt, "/bench-snapshot/item") },
      { id: "handrolled", label: "hand-rolled failover Worker", kind: "worker", copies: workerCopies(hr, "/bench-snapshot/item") },
      { id: "handrolled-guard", label: "hand-rolled + body guard", kind: "worker", copies: workerCopies(hrGuard, "/bench-snapshot/item") },
      { id: "snapshot", label: "mesh, snapshot mode (as shipped)", kind: "mesh", copies: workerCopies(mesh, "/bench-snapshot/item") },
      { id: "strict", label: "mesh, strict mode (as shipped)", kind: "mesh", copies: workerCopies(mesh, "/bench-strict/item", true) },
      { id: "snapshot-every-line", label: "mesh, snapshot, every line (REQUEST_LOG_SAMPLE=1)", kind: "mesh", copies: workerCopies(meshEveryLine, "/bench-snapshot/item") },
    ];
    if (tools.nginx !== null) {
      const port = await freePort();
      const proc = await startNginxProxy(tools.nginx, port, originPorts, plan?.sut);
      cleanups.push(() => proc.stop());
      rows.push({ id: "nginx", label: "nginx round-robin (1 worker)", kind: "proxy", copies: single(`http://127.0.0.1:${port}/bench-snapshot/item`, async () => [proc.pid, ...(await childPids(proc.pid))]) });
    } else {
      skipped.push({ id: "nginx", reason: `nginx not installed (${INSTALL_HINT.nginx})` });
    }
    if (tools.haproxy !== null) {
      const port = await freePort();
      const proc = await startHaproxy(tools.haproxy, port, originPorts, plan?.sut);
      cleanups.push(() => proc.stop());
      rows.push({ id: "haproxy", label: "HAProxy round-robin (1 thread)", kind: "proxy", copies: single(`http://127.0.0.1:${port}/bench-snapshot/item`, async () => [proc.pid]) });
    } else {
      skipped.push({ id: "haproxy", reason: `haproxy not installed (${INSTALL_HINT.haproxy})` });
    }
    if (plan !== null) for (const w of [...pt, ...hr, ...hrGuard, ...mesh, ...meshEveryLine]) for (const pid of w.pids) await pin(pid, plan.sut);

    for (const row of rows) for (const copy of row.copies) await checkRow({ ...row, url: copy.url });
    log(
      `steady: ${rows.length} rows × ${cfg.rounds} round(s), ${copies} workerd process(es) per Worker row: ${cfg.throughputSeconds} s at ${cfg.connections} connections, then ${cfg.latencySeconds} s at 1 connection`,
    );
    const gen = { cpu: plan?.load ?? null };
    for (const row of rows) for (const copy of row.copies) await closedLoop(tools, { url: copy.url, connections: cfg.connections, seconds: cfg.warmSeconds, ...gen });

    const samples = Object.fromEntries(rows.map((r) => [r.id, { throughput: [], latency: [] }]));
    for (let round_ = 1; round_ <= cfg.rounds; round_++) {
      // Each round starts one row later than the one before, so no row is always measured in the same
      // place in the round (last, after every other row has loaded the machine): ab.mjs, which
      // rotates the same way, explains why.
      const order = rows.map((_, k) => rows[(k + round_ - 1) % rows.length]).filter((row) => row !== undefined);
      for (const pass of /** @type {const} */ (["throughput", "latency"])) {
        for (const row of order) {
          // Each process of the row in turn; the row's sample is their mean (CPU: summed over summed requests).
          const parts = [];
          for (const copy of row.copies) {
            const pids = await copy.pids();
            const cpu0 = await cpuMs(pids);
            const noise = await foreignLoad();
            const logged0 = logLines;
            const strict0 = copy.client !== undefined ? (await copy.client.describe("bench-strict")).strictPicks : null;
            const r = await closedLoop(tools, {
              url: copy.url,
              connections: pass === "throughput" ? cfg.connections : 1,
              seconds: pass === "throughput" ? cfg.throughputSeconds : cfg.latencySeconds,
              ...gen,
            });
            const cpu = (await cpuMs(pids)) - cpu0;
            const strict1 = strict0 === null || copy.client === undefined ? null : (await copy.client.describe("bench-strict")).strictPicks;
            parts.push({ r, cpu, noise: await noise.stop(), logged: logLines - logged0, strictRpcs: strict0 === null || strict1 === null ? null : strict1.rpcs - strict0.rpcs });
          }
          const mean = (f) => parts.reduce((a, x) => a + f(x), 0) / parts.length;
          const requests = parts.reduce((a, x) => a + x.r.requests, 0);
          const seconds = parts.reduce((a, x) => a + x.r.seconds, 0);
          const cpu = parts.reduce((a, x) => a + x.cpu, 0);
          const strictRpcs = parts.every((x) => x.strictRpcs !== null) ? parts.reduce((a, x) => a + (x.strictRpcs ?? 0), 0) : null;
          const r = { rps: mean((x) => x.r.rps), latencyMs: { p50: mean((x) => x.r.latencyMs.p50), p99: mean((x) => x.r.latencyMs.p99) } };
          const sample = {
            rps: r.rps,
            p50: r.latencyMs.p50,
            p99: r.latencyMs.p99,
            errors: parts.reduce((a, x) => a + x.r.non2xx + x.r.socketErrors, 0),
            cpuUsPerRequest: (cpu * 1000) / Math.max(1, requests),
            sutCpuPercent: (cpu / (seconds * 1000)) * 100,
            // null off Linux, where the probe cannot read the machine's load.
            foreignCpuPercent: parts.some((x) => x.noise.foreignCpuPercent === null) ? null : mean((x) => x.noise.foreignCpuPercent),
            stealPercent: parts.some((x) => x.noise.stealPercent === null) ? null : mean((x) => x.noise.stealPercent),
            logLinesPerRequest: LOGGED_ROWS.has(row.id) ? parts.reduce((a, x) => a + x.logged, 0) / Math.max(1, requests) : undefined,
            // Strict mode: coordinator RPCs (slot leases, plus per-pick batches for retries) per 1,000 requests.
            rpcsPer1000: strictRpcs === null ? undefined : (strictRpcs * 1000) / Math.max(1, requests),
            ...(parts.length > 1 ? { perProcessRps: parts.map((x) => x.r.rps) } : {}),
          };
          samples[row.id][pass].push(sample);
          log(
            `  round ${round_} ${pass.padEnd(10)} ${row.label.padEnd(34)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latencyMs.p50.toFixed(3)} ms  p99 ${r.latencyMs.p99.toFixed(3)} ms  cpu ${sample.cpuUsPerRequest.toFixed(0)} µs/req` +
              `${sample.errors > 0 ? `  ERRORS ${sample.errors}` : ""}${sample.foreignCpuPercent > 15 ? `  (other processes used ${sample.foreignCpuPercent.toFixed(0)}% CPU)` : ""}${sample.stealPercent > 5 ? `  (hypervisor stole ${sample.stealPercent.toFixed(0)}%)` : ""}`,
          );
        }
      }
    }

    const results = summarizeSteady(rows, samples, "passthrough");
    for (const r of results) r.rpsVsHandRolled = pairedMedian(samples, r.id, "handrolled", "throughput", (x, ref) => x.rps / ref.rps);
    // The mesh against a hand-rolled Worker that pays for the same body guard: what the rest of the mesh costs.
    for (const r of results) if (r.id !== "handrolled-guard") r.rpsVsGuarded = pairedMedian(samples, r.id, "handrolled-guard", "throughput", (x, ref) => x.rps / ref.rps);
    // Issue 13 §2: strict mode (leased slots) against snapshot mode, paired per round.
    const strictRow = results.find((r) => r.id === "strict");
    if (strictRow !== undefined && samples.snapshot !== undefined) strictRow.rpsVsSnapshot = pairedMedian(samples, "strict", "snapshot", "throughput", (x, ref) => x.rps / ref.rps);
    return {
      config: { ...cfg, workerProcesses: copies, generator: tools.wrk !== null ? "wrk 4 (1 thread)" : "Node closed loop (wrk not installed)", origins: originKind, pinning: plan },
      rows: results,
      skipped,
    };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}
