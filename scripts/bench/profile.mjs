// Where a proxied request's time goes inside the Worker: runs one Worker
// (the mesh in snapshot or strict mode, the pass-through or the hand-rolled
// failover Worker) under the bench's
// closed-loop load, takes a V8 CPU profile of its isolate through workerd's
// inspector, prints self time per function in µs per request, and writes the
// .cpuprofile (open it in Chrome DevTools → Performance, or VS Code).
//
//   node scripts/bench/profile.mjs [--target snapshot|strict|passthrough|handrolled] [--seconds 5] [--connections 8] [--out dir]
//
// Sampling slows the isolate (about 1.3-1.5× at the 200 µs default), and
// samples are only taken in the user isolate: Miniflare's entry Worker and its
// outbound filter run in other isolates on the same thread and show up here as
// (idle). Compare functions with each other and with the pass-through's
// profile, not with the req/s of an unprofiled run.
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { closedLoop } from "./lib/load.mjs";
import { listTargets, openSession, startProfiling, summarizeProfile } from "./lib/inspector.mjs";
import { meshClient } from "./lib/mesh-client.mjs";
import { startLeanOrigins } from "./lib/native-servers.mjs";
import { freePort, stopAll } from "./lib/procs.mjs";
import { removeTempDirs, tempDir } from "./lib/temp.mjs";
import { detectTools } from "./lib/tools.mjs";
import { bundleWorker, startWorkerWith } from "./lib/worker-runtime.mjs";
import { REFERENCE_WORKERS, setUpService } from "./scenarios/steady.mjs";

function arg(name, fallback) {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i === -1) return fallback;
  const a = process.argv[i];
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : (process.argv[i + 1] ?? fallback);
}

const target = arg("target", "snapshot");
const seconds = Number(arg("seconds", "5"));
const connections = Number(arg("connections", "8"));
const intervalUs = Number(arg("interval-us", "200"));
if (!["snapshot", "strict", ...Object.keys(REFERENCE_WORKERS)].includes(target)) throw new Error("--target must be snapshot, strict, passthrough or handrolled");
const reference = REFERENCE_WORKERS[target] ?? null;

const tools = detectTools();
try {
  const ports = [await freePort(), await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  await startLeanOrigins(tools.nginx, ports);
  const inspectorPort = await freePort();
  const config = reference?.config ?? "wrangler.toml";
  const bundleDir = await bundleWorker({ config, outdir: await tempDir("profile-bundle") });
  const token = "profile-admin-token";
  const worker = await startWorkerWith({
    bundleDir,
    config,
    inspectorPort,
    bindings: reference?.bindings(urls) ?? { MESH_ADMIN_TOKEN: token, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
  });
  if (reference === null) await setUpService(meshClient(worker.url, token), "profile", target, urls);
  const url = `${worker.url}/profile/item`;
  await closedLoop(tools, { url, connections, seconds: 2 });
  const user = (await listTargets(inspectorPort)).find((t) => t.title.includes("core:user"));
  if (user === undefined) throw new Error("no user isolate among the inspector targets");
  const session = await openSession(user.webSocketDebuggerUrl);
  const stop = await startProfiling([session], intervalUs);
  const load = await closedLoop(tools, { url, connections, seconds });
  const [profile] = await stop();
  session.close();
  await worker.dispose();

  const s = summarizeProfile(profile);
  const per = (us) => (us / load.requests).toFixed(1);
  process.stdout.write(`${target}: ${load.requests} requests, ${load.rps.toFixed(0)} req/s while profiled; isolate busy ${per(s.busyUs)} µs/request\n`);
  process.stdout.write("self time, µs per request:\n");
  for (const [fn, us] of [...s.self].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    process.stdout.write(`  ${per(us).padStart(7)}  ${fn}\n`);
  }
  // Profiles are a few MB each: they go to the temp dir unless --out says otherwise.
  const dir = path.resolve(arg("out", tmpdir()));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `profile-${target}-${new Date().toISOString().slice(0, 10)}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  process.stdout.write(`profile: ${file}\n`);
} finally {
  await stopAll();
  await removeTempDirs();
}
