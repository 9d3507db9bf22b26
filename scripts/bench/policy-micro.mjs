// Microbenchmark: CPU per pick, in workerd, of the traffic policies
// (src/core/policy/: affinity, split, slow start) against the same pick with
// none. Not a timed test: it prints a table (and JSON with --json).
//
//   node scripts/bench/policy-micro.mjs [--quick] [--json] [--hosts N]
//
// Each pick is pickLocal over a snapshot of N labelled instances, with a
// fresh per-request policy state (as each request has), the way the edge's
// pick stage calls it. "none" passes a request whose `traffic` is null: the
// one field check every service without a policy pays. Measured as
// pick-micro.mjs does: workerd process CPU of a request making N picks minus
// one making none, divided by N (a Worker's clocks stand still while it runs).
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

const AFFINITY = { mode: "cookie", name: "__mesh_affinity", ttlSeconds: 3600 };
const SPLIT = [
  { match: { header: { "x-canary": "1" } }, to: { version: "v2" } },
  { percent: 5, to: { version: "v2" } },
];
/** [label, balancer, traffic (null: none), pinned] */
const VARIANTS = [
  ["no policy (traffic null)", "round_robin", null, false],
  ["split (header + 5 %)", "round_robin", { split: SPLIT, slowStartSeconds: 0 }, false],
  ["affinity, pinned", "round_robin", { affinity: AFFINITY, slowStartSeconds: 0 }, true],
  ["affinity, new session", "round_robin", { affinity: AFFINITY, slowStartSeconds: 0 }, false],
  ["slow start, ramping (wrr)", "weighted_round_robin", { slowStartSeconds: 60 }, false],
  ["no policy (wrr)", "weighted_round_robin", null, false],
  ["all three (wrr)", "weighted_round_robin", { affinity: AFFINITY, split: SPLIT, slowStartSeconds: 60 }, false],
];

async function main() {
  const dir = await tempDir("policy-micro");
  const src = (p) => JSON.stringify(path.join(ROOT, p));
  await writeFile(
    path.join(dir, "index.js"),
    `import { newLocalServiceState } from ${src("src/core/local-health/local-service-state.ts")};
import { pickLocal } from ${src("src/core/local-health/local-pick.ts")};
import { UNDECIDED } from ${src("src/core/policy/traffic-view.ts")};
const VARIANTS = ${JSON.stringify(VARIANTS)};
const HOSTS = ${HOSTS};
function snapshot(now) {
  // One in five is v2; one in four became healthy 10 s ago (inside a 60 s slow start).
  const instances = Array.from({ length: HOSTS }, (_, i) => ({
    id: "i" + i.toString(16).padStart(15, "0"), url: "http://10.0.0." + i + ":8080", weight: 1 + (i % 3), zone: null,
    labels: { version: i % 5 === 4 ? "v2" : "v1" }, healthySince: i % 4 === 0 ? now - 10_000 : now - 600_000,
  }));
  return { service: "bench", version: 1, instances, allUnhealthy: false, panic: false, generatedAt: now };
}
const headers = new Headers({ "x-user": "u" });
export default {
  fetch(request) {
    const q = new URL(request.url).searchParams;
    const [, kind, traffic, pinned] = VARIANTS[Number(q.get("v"))];
    const n = Number(q.get("n") ?? "0");
    let now = 1_000_000;
    const state = newLocalServiceState(snapshot(now), "coordinator", kind, now, Math.random, () => now);
    const req = { traffic, headers, pinned: pinned ? state.snapshot.instances[1].id : null, splitGroup: UNDECIDED };
    let found = 0;
    for (let i = 0; i < n; i++) {
      now++;
      req.splitGroup = UNDECIDED; // every pick is a new request
      if (pickLocal(state, undefined, now, 1_000, undefined, req) !== undefined) found++;
    }
    return new Response(String(found));
  },
};
`,
  );
  const { cpuFor, dispose } = await startCpuProbe({ name: "bench-policy-micro", dir });
  const picks = quick ? 300_000 : 2_000_000;
  try {
    const rows = [];
    for (let v = 0; v < VARIANTS.length; v++) {
      await cpuFor(`v=${v}&n=100000`); // warm up the JIT
      rows.push({ variant: VARIANTS[v][0], usPerPick: round(await usPerCall(cpuFor, `v=${v}&n=0`, `v=${v}&n=${picks}`, picks), 3) });
    }
    const result = { hosts: HOSTS, picks, method: "workerd process CPU time (/proc, 10 ms ticks), per pick", rows };
    if (asJson) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`CPU per pick in workerd with traffic policies, ${HOSTS} hosts, ${picks.toLocaleString("en")} picks per variant`);
      for (const r of rows) console.log(`  ${r.variant.padEnd(28)} ${r.usPerPick.toFixed(3).padStart(7)} µs/pick`);
    }
  } finally {
    await dispose();
    await removeTempDirs();
  }
}

await main();
