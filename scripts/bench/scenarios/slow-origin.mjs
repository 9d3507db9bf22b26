// Scenario 7 (issue 10): one slow origin. Three origins behind the mesh, one
// answering 50 ms later than the others; per balancer, the share of requests
// the slow origin served and the latency the client saw, under closed-loop
// load with several connections (a load-aware balancer can only steer traffic
// that overlaps). Balancers run interleaved over rounds, like the steady
// state's rows, so drift lands on every kind alike; each figure is the median
// over rounds. `npm run bench -- --only slow`.
import { closedLoop } from "../lib/load.mjs";
import { meshClient } from "../lib/mesh-client.mjs";
import { median, round } from "../lib/stats.mjs";
import { startWorkerTracked } from "../lib/worker-runtime.mjs";
import { startOrigins } from "../../lib/origin.mjs";

export const SLOW_MS = 50;
/** The kinds measured; the hash kinds are left out: they pin a key to an origin by design, not by latency. */
export const SLOW_KINDS = ["round_robin", "random", "least_request", "peak_ewma"];

/**
 * @param {{ tools: Record<string, string | null>, quick: boolean, log: (s: string) => void,
 *           bundles: { mesh: string }, adminToken: string }} ctx
 */
export async function slowOrigin({ tools, quick, log, bundles, adminToken }) {
  const cfg = quick ? { rounds: 1, seconds: 3, connections: 8 } : { rounds: 3, seconds: 5, connections: 8 };
  const origins = await startOrigins(3, "slow-bench");
  const { worker } = await startWorkerTracked({
    bundleDir: bundles.mesh,
    bindings: { MESH_ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off" },
  });
  try {
    const mesh = meshClient(worker.url, adminToken);
    for (const kind of SLOW_KINDS) {
      const name = `slow-${kind.replace(/_/g, "-")}`;
      const token = await mesh.putService(name, { routes: { pathPrefixes: [`/${name}`] }, balancer: kind });
      for (const o of origins) await mesh.register(name, token, o.url, { ttlSeconds: 3600 });
    }
    const [slow] = origins;
    if (slow === undefined) throw new Error("no origin");
    const res = await fetch(`${slow.url}/__control`, { method: "POST", body: JSON.stringify({ delayMs: SLOW_MS }) });
    if (res.status !== 200) throw new Error(`slow origin control: ${res.status}`);
    log(`slow origin: ${SLOW_KINDS.length} balancers × ${cfg.rounds} round(s) of ${cfg.seconds} s at ${cfg.connections} connections; origin ${slow.name} +${SLOW_MS} ms`);

    /** @type {Record<string, { share: number, p50: number, p99: number, rps: number, errors: number }[]>} */
    const samples = Object.fromEntries(SLOW_KINDS.map((k) => [k, []]));
    for (let r = 1; r <= cfg.rounds; r++) {
      for (const kind of SLOW_KINDS) {
        const url = `${worker.url}/slow-${kind.replace(/_/g, "-")}/item`;
        // One request first, so every kind starts with its snapshot loaded.
        await fetch(url).then((x) => x.arrayBuffer());
        const before = origins.map((o) => o.served);
        const out = await closedLoop(tools, { url, connections: cfg.connections, seconds: cfg.seconds });
        const served = origins.map((o, i) => o.served - (before[i] ?? 0));
        const total = served.reduce((a, b) => a + b, 0);
        const sample = { share: total > 0 ? (served[0] ?? 0) / total : Number.NaN, p50: out.latencyMs.p50, p99: out.latencyMs.p99, rps: out.rps, errors: out.non2xx + out.socketErrors };
        samples[kind]?.push(sample);
        log(`  round ${r} ${kind.padEnd(14)} slow share ${(sample.share * 100).toFixed(1).padStart(5)}%  p50 ${sample.p50.toFixed(2)} ms  p99 ${sample.p99.toFixed(2)} ms  ${sample.rps.toFixed(0)} req/s${sample.errors > 0 ? `  ERRORS ${sample.errors}` : ""}`);
      }
    }
    const rows = SLOW_KINDS.map((kind) => {
      const list = samples[kind] ?? [];
      return {
        kind,
        slowShare: round(median(list.map((x) => x.share)), 3),
        p50: round(median(list.map((x) => x.p50)), 2),
        p99: round(median(list.map((x) => x.p99)), 2),
        rps: round(median(list.map((x) => x.rps)), 0),
        errors: list.reduce((a, x) => a + x.errors, 0),
        shareRounds: list.map((x) => round(x.share, 3)),
      };
    });
    return { config: { ...cfg, slowMs: SLOW_MS, origins: 3, generator: tools.wrk !== null ? "wrk 4 (1 thread)" : "Node closed loop" }, rows };
  } finally {
    await worker.dispose();
    for (const o of origins) await o.stop();
  }
}
