// Scenario 1: steady state, 3 healthy origins, GET, small body. Every row is
// one proxy in front of the same origins, driven by the same closed-loop
// generator:
//   origin direct | pass-through Worker | hand-rolled failover Worker |
//   mesh snapshot | mesh strict | mesh snapshot with REQUEST_LOG=off |
//   nginx | HAProxy
// The mesh rows run the shipped wrangler.toml as is (REQUEST_LOG="json": one
// log line per request), so the headline row measures what users deploy; the
// REQUEST_LOG=off row shows what that line costs.
// The hand-rolled failover Worker does the work any correct proxy must (the
// mesh's header rules, a per-try timeout, failover) and nothing else, so the
// mesh's cost splits into "proxying correctly" and "the mesh itself".
// Rounds are interleaved (row A, B, C..., then again) so drift on a shared
// machine lands on every row alike; each number is the median over rounds.
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
export const HANDROLLED_CONFIG = "workers/handrolled/wrangler.toml";

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
    const pt = await startWorkerTracked({ bundleDir: bundles.passthrough, config: PASSTHROUGH_CONFIG, bindings: { ORIGIN_URL: originUrls[0] } });
    cleanups.push(() => pt.worker.dispose());
    const hr = await startWorkerTracked({ bundleDir: bundles.handrolled, config: HANDROLLED_CONFIG, bindings: { ORIGIN_URLS: originUrls.join(",") } });
    cleanups.push(() => hr.worker.dispose());
    // No REQUEST_LOG binding: the shipped default from wrangler.toml. Its lines are counted, not printed.
    let logLines = 0;
    const mesh = await startWorkerTracked({
      bundleDir: bundles.mesh,
      bindings: meshBindings,
      onStdout: (line) => {
        if (line.includes('"event":"request"')) logLines++;
      },
    });
    cleanups.push(() => mesh.worker.dispose());
    const meshLogOff = await startWorkerTracked({ bundleDir: bundles.mesh, bindings: { ...meshBindings, REQUEST_LOG: "off" } });
    cleanups.push(() => meshLogOff.worker.dispose());
    const client = meshClient(mesh.worker.url, adminToken);
    await setUpService(client, "bench-snapshot", "snapshot", originUrls);
    await setUpService(client, "bench-strict", "strict", originUrls);
    await setUpService(meshClient(meshLogOff.worker.url, adminToken), "bench-snapshot", "snapshot", originUrls);

    const rows = [
      { id: "origin", label: "origin direct", kind: "origin", url: `${originUrls[0]}/bench-snapshot/item`, pids: async () => [originProc.pid, ...(await childPids(originProc.pid))] },
      { id: "passthrough", label: "pass-through Worker", kind: "worker", url: `${pt.worker.url}/bench-snapshot/item`, pids: async () => pt.pids },
      { id: "handrolled", label: "hand-rolled failover Worker", kind: "worker", url: `${hr.worker.url}/bench-snapshot/item`, pids: async () => hr.pids },
      { id: "snapshot", label: "mesh, snapshot mode (as shipped)", kind: "mesh", url: `${mesh.worker.url}/bench-snapshot/item`, pids: async () => mesh.pids },
      { id: "strict", label: "mesh, strict mode (as shipped)", kind: "mesh", url: `${mesh.worker.url}/bench-strict/item`, pids: async () => mesh.pids },
      { id: "snapshot-log-off", label: "mesh, snapshot, REQUEST_LOG=off", kind: "mesh", url: `${meshLogOff.worker.url}/bench-snapshot/item`, pids: async () => meshLogOff.pids },
    ];
    if (tools.nginx !== null) {
      const port = await freePort();
      const proc = await startNginxProxy(tools.nginx, port, originPorts, plan?.sut);
      cleanups.push(() => proc.stop());
      rows.push({ id: "nginx", label: "nginx round-robin (1 worker)", kind: "proxy", url: `http://127.0.0.1:${port}/bench-snapshot/item`, pids: async () => [proc.pid, ...(await childPids(proc.pid))] });
    } else {
      skipped.push({ id: "nginx", reason: `nginx not installed (${INSTALL_HINT.nginx})` });
    }
    if (tools.haproxy !== null) {
      const port = await freePort();
      const proc = await startHaproxy(tools.haproxy, port, originPorts, plan?.sut);
      cleanups.push(() => proc.stop());
      rows.push({ id: "haproxy", label: "HAProxy round-robin (1 thread)", kind: "proxy", url: `http://127.0.0.1:${port}/bench-snapshot/item`, pids: async () => [proc.pid] });
    } else {
      skipped.push({ id: "haproxy", reason: `haproxy not installed (${INSTALL_HINT.haproxy})` });
    }
    if (plan !== null) for (const pid of [...pt.pids, ...hr.pids, ...mesh.pids, ...meshLogOff.pids]) await pin(pid, plan.sut);

    for (const row of rows) await checkRow(row);
    log(`steady: ${rows.length} rows × ${cfg.rounds} round(s): ${cfg.throughputSeconds} s at ${cfg.connections} connections, then ${cfg.latencySeconds} s at 1 connection`);
    const gen = { cpu: plan?.load ?? null };
    for (const row of rows) await closedLoop(tools, { url: row.url, connections: cfg.connections, seconds: cfg.warmSeconds, ...gen });

    const samples = Object.fromEntries(rows.map((r) => [r.id, { throughput: [], latency: [] }]));
    for (let round_ = 1; round_ <= cfg.rounds; round_++) {
      for (const pass of /** @type {const} */ (["throughput", "latency"])) {
        for (const row of rows) {
          const pids = await row.pids();
          const cpu0 = await cpuMs(pids);
          const noise = await foreignLoad();
          const logged0 = logLines;
          const strict0 = row.id === "strict" ? (await client.describe("bench-strict")).strictPicks : null;
          const r = await closedLoop(tools, {
            url: row.url,
            connections: pass === "throughput" ? cfg.connections : 1,
            seconds: pass === "throughput" ? cfg.throughputSeconds : cfg.latencySeconds,
            ...gen,
          });
          const cpu = (await cpuMs(pids)) - cpu0;
          const strict1 = strict0 === null ? null : (await client.describe("bench-strict")).strictPicks;
          const sample = {
            rps: r.rps,
            p50: r.latencyMs.p50,
            p99: r.latencyMs.p99,
            errors: r.non2xx + r.socketErrors,
            cpuUsPerRequest: (cpu * 1000) / Math.max(1, r.requests),
            sutCpuPercent: (cpu / (r.seconds * 1000)) * 100,
            ...(await noise.stop()),
            logLinesPerRequest: row.id === "snapshot" ? (logLines - logged0) / Math.max(1, r.requests) : undefined,
            // Strict mode: coordinator RPCs (slot leases, plus per-pick batches for retries) per 1,000 requests.
            rpcsPer1000: strict0 === null || strict1 === null ? undefined : ((strict1.rpcs - strict0.rpcs) * 1000) / Math.max(1, r.requests),
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
    // Issue 13 §2: strict mode (leased slots) against snapshot mode, paired per round.
    const strictRow = results.find((r) => r.id === "strict");
    if (strictRow !== undefined && samples.snapshot !== undefined) strictRow.rpsVsSnapshot = pairedMedian(samples, "strict", "snapshot", "throughput", (x, ref) => x.rps / ref.rps);
    return {
      config: { ...cfg, generator: tools.wrk !== null ? "wrk 4 (1 thread)" : "Node closed loop (wrk not installed)", origins: originKind, pinning: plan },
      rows: results,
      skipped,
    };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}
