// Scenario 7: what the metrics cost per proxied request (issue target: ≤ 10 µs).
//
// A workerd microbenchmark of the record stage's metrics sink, clearly not a
// load test: a Worker bundling the real src/edge/report/metrics-sink.ts runs n
// "requests" per HTTP call, each the finished RequestState of one proxied
// request (one try, 10 instances in turn, varying latency, 1 in 20 failing
// over), calling recordMetrics on each and, every 256 requests, takeMetrics
// plus a structuredClone of the delta (what the outcome reporter's flush and
// the RPC's serialisation do, amortised). The "off" run does the same loop
// without the sink, as METRICS=off does. A Worker cannot time itself (its
// clocks stand still while JavaScript runs), so, as scripts/bench/pick-micro.mjs
// does, we charge the workerd process's CPU time: (CPU on − CPU off) / n.
// The coordinator's side (merging a delta, two SQLite rows per instance per
// report) is off the request path and not in this number.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { startCpuProbe } from "../lib/cpu-probe.mjs";
import { median, round } from "../lib/stats.mjs";
import { tempDir } from "../lib/temp.mjs";
import { ROOT } from "../lib/worker-runtime.mjs";

export const METRICS_TARGET_US = 10;

/** @param {{ quick: boolean, log: (s: string) => void }} ctx */
export async function metricsCost({ quick, log }) {
  const dir = await tempDir("metrics-cost");
  const src = (p) => JSON.stringify(path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { recordMetrics, takeMetrics } from ${src("src/edge/report/metrics-sink.ts")};
const ids = Array.from({ length: 10 }, (_, i) => "i" + i.toString(16).padStart(15, "0"));
const service = { name: "bench" };
export default {
  fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n") ?? "0");
    const on = q.get("metrics") === "on";
    let checksum = 0;
    for (let i = 0; i < n; i++) {
      // The state the record stage sees, built per request as the data plane builds it.
      const id = ids[i % 10];
      const failedOver = i % 20 === 0;
      const outcomes = failedOver
        ? [{ instanceId: ids[(i + 1) % 10], ok: false, failure: "status", status: 503, latencyMs: 3 }, { instanceId: id, ok: true, latencyMs: 7 + (i & 15) }]
        : [{ instanceId: id, ok: true, latencyMs: 5 + (i & 31) }];
      const state = { started: 1_000_000 + i, service, lastInstance: id, outcome: failedOver ? "failed_over" : "ok", status: 200, outcomes };
      checksum += outcomes.length;
      if (on) {
        recordMetrics(state, state.started + 9 + (i & 63));
        if ((i & 255) === 255) checksum += structuredClone(takeMetrics("bench") ?? { instances: [] }).instances.length;
      }
    }
    return new Response(String(checksum));
  },
};
`,
  );
  const { cpuFor, dispose } = await startCpuProbe({ name: "bench-metrics-cost", dir });
  const requests = quick ? 300_000 : 2_000_000;
  const rounds = quick ? 3 : 7;
  try {
    await cpuFor("metrics=on&n=200000"); // warm up the JIT, both paths
    await cpuFor("metrics=off&n=200000");
    const added = [];
    for (let r = 0; r < rounds; r++) {
      // Alternating on/off rounds, so background load on a shared machine hits both alike.
      const off = await cpuFor(`metrics=off&n=${requests}`);
      const on = await cpuFor(`metrics=on&n=${requests}`);
      added.push(((on - off) * 1e3) / requests);
    }
    const usAddedPerRequest = round(median(added), 3);
    log(`  metrics sink: ${usAddedPerRequest} µs CPU added per request (median of ${rounds} on/off rounds, ${requests.toLocaleString("en")} requests each; target ≤ ${METRICS_TARGET_US} µs)`);
    return {
      method: "workerd microbenchmark of the record stage's metrics sink (recordMetrics + amortised takeMetrics/structuredClone per 256), process CPU time on − off",
      requests,
      rounds,
      usAddedPerRequest,
      usAddedPerRound: added.map((x) => round(x, 3)),
      targetUs: METRICS_TARGET_US,
    };
  } finally {
    await dispose();
  }
}
