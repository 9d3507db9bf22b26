// Microbenchmark: what the request log line costs per request, in workerd, by
// part. Not a timed test: it prints a table (and JSON with --json).
//
//   node scripts/bench/log-micro.mjs [--quick] [--json]
//
// Each "request" builds the event object the record stage builds (the shape of
// a steady-state GET: one try, ids, a path, a version), then, by mode:
//   build        nothing more (the baseline every other mode is charged against)
//   stringify    JSON.stringify(event), what the log did before
//   line         requestEventLine(event) (src/core/events/request-line.ts)
//   log-line     requestEventLine + console.log of the line, through workerd's
//                stdout to this process (as under Miniflare; production ships
//                console output to Logpush instead, which this does not model)
// A Worker cannot time itself (its clocks stand still while JavaScript runs),
// so, as scripts/bench/pick-micro.mjs does, we charge the workerd process's
// CPU time: (CPU of a request doing N − CPU of one doing the baseline) / N.
//
// A second phase puts closed-loop load (8 connections) on the same Worker with
// one event per HTTP request, as the mesh logs, and charges workerd's CPU per
// request: what one console.log costs a request of its own, which a loop of
// many lines in one request amortises away.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { pairedModeRounds, startCpuProbe } from "./lib/cpu-probe.mjs";
import { cpuMs } from "./lib/cpu.mjs";
import { closedLoop } from "./lib/load.mjs";
import { detectTools } from "./lib/tools.mjs";
import { median, round } from "./lib/stats.mjs";
import { tempDir, removeTempDirs } from "./lib/temp.mjs";
import { ROOT } from "./lib/worker-runtime.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const asJson = args.includes("--json");
const MODES = ["stringify", "line", "log-line"];

async function main() {
  const dir = await tempDir("log-micro");
  const src = (p) => JSON.stringify(path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { requestEventLine } from ${src("src/core/events/request-line.ts")};
const ids = Array.from({ length: 10 }, (_, i) => "a1b2c3d4e5f6" + i.toString(16).padStart(4, "0"));
function event(i) {
  const id = ids[i % 10];
  return {
    v: 1, event: "request", ts: new Date(1764500000000 + i).toISOString(), requestId: "8e2f" + id, traceId: id + id, spanId: id,
    service: "bench-snapshot", fallbackFrom: null, method: "GET", host: "127.0.0.1:8787", path: "/bench-snapshot/item",
    status: 200, outcome: "ok", instance: id, attempts: 1, tried: [id], failures: [], latencyMs: i & 7,
    upstreamLatencyMs: 1 + (i & 3), bytesIn: 0, bytesOut: 312, colo: null, country: null, mode: "snapshot",
    snapshotVersion: 12, retryBudgetExhausted: false, weight: 1,
  };
}
export default {
  fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n") ?? "0");
    const mode = q.get("mode");
    let checksum = 0;
    for (let i = 0; i < n; i++) {
      const e = event(i);
      if (mode === "stringify") checksum += JSON.stringify(e).length;
      else if (mode === "line") checksum += requestEventLine(e).length;
      else if (mode === "log-line") console.log(requestEventLine(e));
      else checksum += e.status;
    }
    return new Response(String(checksum));
  },
};
`,
  );
  // The lines are counted here, as the steady-state bench counts the mesh's, not printed.
  let lines = 0;
  const { cpuFor, dispose, url, pids } = await startCpuProbe({ name: "bench-log-micro", dir, onStdout: () => void lines++ });
  const n = quick ? 100_000 : 400_000;
  const rounds = quick ? 3 : 7;
  /** @type {Record<string, number[]>} */
  let perMode = {};
  const perRequest = Object.fromEntries(["build", ...MODES].map((m) => [m, []]));
  const tools = detectTools();
  try {
    perMode = await pairedModeRounds(cpuFor, { base: "build", modes: MODES, n, rounds });
    for (let r = 0; r < rounds; r++) {
      for (const m of ["build", ...MODES]) {
        const cpu0 = await cpuMs(pids);
        const load = await closedLoop(tools, { url: `${url}/?mode=${m}&n=1`, connections: 8, seconds: quick ? 2 : 4 });
        perRequest[m].push(((await cpuMs(pids)) - cpu0) * 1e3 / Math.max(1, load.requests));
      }
    }
  } finally {
    await dispose();
    await removeTempDirs();
  }
  if (lines === 0) throw new Error("log-line mode printed no line: the probe did not measure console.log");
  const result = Object.fromEntries(MODES.map((m) => [m, { usPerRequest: round(median(perMode[m]), 3), rounds: perMode[m].map((x) => round(x, 3)) }]));
  const loaded = Object.fromEntries(Object.entries(perRequest).map(([m, xs]) => [m, { usPerRequest: round(median(xs), 1), rounds: xs.map((x) => round(x, 1)) }]));
  if (asJson) {
    console.log(JSON.stringify({ n, rounds, modes: result, oneEventPerHttpRequest: loaded }, null, 2));
    return;
  }
  console.log(`request log line, workerd CPU per request over building the event (median of ${rounds} rounds of ${n.toLocaleString("en")}):`);
  for (const m of MODES) console.log(`  ${m.padEnd(10)} ${result[m].usPerRequest.toFixed(3).padStart(8)} µs   rounds: ${result[m].rounds.join(", ")}`);
  console.log(`one event per HTTP request, 8 connections, workerd CPU per HTTP request (median of ${rounds} rounds):`);
  for (const [m, v] of Object.entries(loaded)) console.log(`  ${m.padEnd(10)} ${v.usPerRequest.toFixed(1).padStart(8)} µs   rounds: ${v.rounds.join(", ")}`);
}

await main();
