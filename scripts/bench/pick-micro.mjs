// Microbenchmark: CPU per pick, in workerd, for every balancer kind against
// round_robin. Not a timed test: it prints a table (and JSON with --json).
//
//   node scripts/bench/pick-micro.mjs [--quick] [--json] [--hosts N]
//
// Each pick is what the edge's pick stage does per try in snapshot mode:
// pickLocal over a snapshot of N instances (src/core/local-health/local-pick.ts),
// with this isolate's load report; the hash kinds also read their key from the
// request's headers (requestHashKey), as preparePick does. Latency-aware kinds
// get a latency observation recorded every pick, as the try stage does.
// A Worker cannot time itself (its clocks stand still while JavaScript runs),
// so, as scripts/bench/scenarios/registry-scale.mjs does for route matching,
// we charge the workerd process's CPU time: (CPU of a request making N picks −
// CPU of a request making none) / N. The table build of the hash kinds (once
// per snapshot version) is measured the same way.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { startCpuProbe, usPerCall } from "./lib/cpu-probe.mjs";
import { round } from "./lib/stats.mjs";
import { tempDir, removeTempDirs } from "./lib/temp.mjs";
import { ROOT } from "./lib/worker-runtime.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const asJson = args.includes("--json");
const hostsAt = args.indexOf("--hosts");
const HOSTS = hostsAt === -1 ? 10 : Number(args[hostsAt + 1]);

const KINDS = [
  "round_robin",
  "weighted_round_robin",
  "random",
  "least_request",
  "peak_ewma",
  { kind: "ring_hash", hashOn: { header: "x-user" } },
  { kind: "maglev", hashOn: { header: "x-user" } },
];
const label = (k) => (typeof k === "string" ? k : k.kind);

async function main() {
  const dir = await tempDir("pick-micro");
  const src = (p) => JSON.stringify(path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { newLocalServiceState } from ${src("src/core/local-health/local-service-state.ts")};
import { pickLocal, recordLatency, tryStarted, tryFinished } from ${src("src/core/local-health/local-pick.ts")};
import { hashOnOf } from ${src("src/core/balance/index.ts")};
import { requestHashKey } from ${src("src/core/balance/hash/request-key.ts")};
const KINDS = ${JSON.stringify(KINDS)};
const HOSTS = ${HOSTS};
function snapshot(version) {
  const instances = Array.from({ length: HOSTS }, (_, i) => ({ id: "i" + i.toString(16).padStart(15, "0"), url: "http://10.0.0." + i + ":8080", weight: 1 + (i % 3), zone: null }));
  return { service: "bench", version, instances, allUnhealthy: false, panic: false, generatedAt: 0 };
}
const url = new URL("https://api.example.com/items/1");
// One Headers per user, made up front, so the loop charges reading the key, not building requests.
const headerSets = Array.from({ length: 1024 }, (_, i) => new Headers({ "x-user": "user-" + i, "cf-connecting-ip": "203.0.113.7" }));
export default {
  fetch(request) {
    const q = new URL(request.url).searchParams;
    const kind = KINDS[Number(q.get("kind"))];
    const n = Number(q.get("n") ?? "0");
    const mode = q.get("mode") ?? "pick";
    let now = 1_000_000;
    const state = newLocalServiceState(snapshot(1), "coordinator", kind, now, Math.random, () => now);
    let found = 0;
    if (mode === "build") {
      // A new snapshot array per pick: the hash kinds rebuild their table each time.
      for (let i = 0; i < n; i++) {
        state.snapshot = snapshot(i);
        if (pickLocal(state, undefined, now, 1_000, "user-" + i) !== undefined) found++;
      }
      return new Response(String(found));
    }
    pickLocal(state, undefined, now, 1_000, "warm"); // the table build is not part of a pick
    const hashOn = hashOnOf(kind);
    for (let i = 0; i < n; i++) {
      now++;
      let key;
      if (hashOn !== null) key = requestHashKey(hashOn, headerSets[i & 1023], url);
      const picked = pickLocal(state, undefined, now, 1_000, key);
      if (picked === undefined) continue;
      found++;
      // What the try stage adds around each pick: the in-flight bracket and, for an answer, its latency.
      tryStarted(state, picked.id, now);
      tryFinished(state, picked.id, now);
      recordLatency(state, picked.id, 5 + (i & 7), now);
    }
    return new Response(String(found));
  },
};
`,
  );
  const { cpuFor, dispose } = await startCpuProbe({ name: "bench-pick-micro", dir });
  const picks = quick ? 300_000 : 2_000_000;
  const builds = quick ? 20 : 100;
  try {
    const rows = [];
    for (let k = 0; k < KINDS.length; k++) {
      await cpuFor(`kind=${k}&n=100000`); // warm up the JIT
      const row = { kind: label(KINDS[k]), usPerPick: round(await usPerCall(cpuFor, `kind=${k}&n=0`, `kind=${k}&n=${picks}`, picks), 3) };
      if (typeof KINDS[k] !== "string") {
        await cpuFor(`kind=${k}&n=2&mode=build`);
        const b0 = await cpuFor(`kind=${k}&n=0&mode=build`);
        const b1 = await cpuFor(`kind=${k}&n=${builds}&mode=build`);
        row.msPerTableBuild = round((b1 - b0) / builds, 2);
      }
      rows.push(row);
    }
    const base = rows[0]?.usPerPick ?? 0;
    for (const r of rows) r.usAddedVsRoundRobin = round(r.usPerPick - base, 3);
    const result = { hosts: HOSTS, picks, method: "workerd process CPU time (/proc, 10 ms ticks), per pick incl. in-flight bracket and latency record", rows };
    if (asJson) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`CPU per pick in workerd, ${HOSTS} hosts, ${picks.toLocaleString("en")} picks per kind`);
      for (const r of rows) {
        const build = r.msPerTableBuild === undefined ? "" : `  (table build ${r.msPerTableBuild} ms per snapshot version)`;
        console.log(`  ${r.kind.padEnd(22)} ${r.usPerPick.toFixed(3).padStart(7)} µs/pick  ${(r.usAddedVsRoundRobin >= 0 ? "+" : "") + r.usAddedVsRoundRobin.toFixed(3)} µs vs round_robin${build}`);
      }
    }
  } finally {
    await dispose();
    await removeTempDirs();
  }
}

await main();
