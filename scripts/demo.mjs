// `npm start`: the mesh under `wrangler dev` (local KV and Durable Object
// state, no Cloudflare account), three demo origins that register themselves
// over HTTP and heartbeat, a guided run showing round-robin and failover, and
// curl lines to try it yourself. Ctrl-C deregisters the origins and stops.
//
// Ports and pace come from the environment, so a script or a test can run it
// beside another mesh: MESH_PORT (8787), DEMO_CONTROL_PORT (8790),
// DEMO_ORIGIN_PORTS ("9101,9102,9103"), DEMO_INSPECTOR_PORT (wrangler's 9229),
// DEMO_SKIP_WALKTHROUGH=1 (no guided run: register, print the curl lines, wait)
// and DEMO_EXIT_AFTER_WALKTHROUGH=1 (shut down as if Ctrl-C had been pressed).
// A port that is not a plain number, named twice, or an origin list that is not
// three ports exits 2 before anything starts; a port in use, 1.
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { readFileSync } from "node:fs";
import { createOrigin } from "./lib/origin.mjs";
import { readJson } from "./lib/read-json.mjs";
import { registration } from "./lib/registration-client.mjs";
import { ROOT } from "./lib/mesh-runtime.mjs";
import { demoPorts, takenPorts } from "./lib/ports.mjs";
import { devVar } from "./lib/dev-vars.mjs";

// Before anything else, .dev.vars included: a bad setting is the caller's to fix, exit 2 (scripts/lib/ports.mjs).
const { ports, problems } = demoPorts(process.env);
if (problems.length > 0) {
  process.stderr.write(`npm start: cannot start, bad port settings:\n${problems.map((l) => `  ${l}\n`).join("")}`);
  process.exit(2);
}
const MESH_PORT = ports.mesh;
const CONTROL_PORT = ports.control;
const MESH = `http://127.0.0.1:${MESH_PORT}`;
const SERVICE = "shop";
const devVars = readFileSync(path.join(ROOT, ".dev.vars"), "utf8");
const ADMIN_TOKEN = devVar(devVars, "MESH_ADMIN_TOKEN") ?? "";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
const say = (line = "") => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ORIGIN_PORTS = ports.origins;
// Before anything starts: a taken port would otherwise route the demo to whatever holds it (scripts/lib/ports.mjs).
const taken = await takenPorts([
  { name: "MESH_PORT", port: MESH_PORT },
  { name: "DEMO_CONTROL_PORT", port: CONTROL_PORT },
  ...ORIGIN_PORTS.map((port) => ({ name: "DEMO_ORIGIN_PORTS", port })),
  ...(ports.inspector === undefined ? [] : [{ name: "DEMO_INSPECTOR_PORT", port: ports.inspector }]),
]);
if (taken.length > 0) {
  process.stderr.write(`npm start: cannot start, ${taken.length === 1 ? "a port is" : "ports are"} not available:\n${taken.map((l) => `  ${l}\n`).join("")}Stop what holds ${taken.length === 1 ? "it" : "them"}, or choose others with MESH_PORT, DEMO_CONTROL_PORT, DEMO_ORIGIN_PORTS.\n`);
  process.exit(1);
}
const origins = ORIGIN_PORTS.map((port, i) => createOrigin({ name: `origin-${i + 1}`, port }));
await Promise.all(origins.map((o) => o.start()));
say(`demo origins: ${origins.map((o) => `${o.name}=${o.url}`).join("  ")}`);

let shuttingDown = false;
/** @type {ReturnType<typeof registration>[]} */
let regs = [];
/** @type {http.Server | null} */
let control = null;

const inspector = ports.inspector === undefined ? [] : ["--inspector-port", String(ports.inspector)];
// detached: wrangler and workerd get a process group of their own. Ctrl-C in a
// terminal signals the whole foreground group, and wrangler would stop the mesh
// at once, before the origins could deregister through it. Here only this
// process hears Ctrl-C; it deregisters, then stops the mesh's group itself.
const wrangler = spawn(
  process.execPath,
  [
    path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(MESH_PORT),
    ...inspector,
    "--test-scheduled",
    "--show-interactive-dev-session=false",
  ],
  { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", REQUEST_LOG: "json" }, stdio: ["ignore", "pipe", "pipe"], detached: true },
);
const wranglerExited = new Promise((resolve) => wrangler.once("exit", resolve));

/** Signals wrangler's whole process group (wrangler, workerd, esbuild); false when it is already gone. */
function signalMesh(signal) {
  if (wrangler.pid === undefined) return false;
  try {
    process.kill(-wrangler.pid, signal);
    return true;
  } catch {
    return false;
  }
}
// Whatever ends this process (an error, process.exit on a failed start), the mesh goes with it.
process.on("exit", () => signalMesh("SIGKILL"));

/** Asks the mesh to stop, gives it 5 s to exit cleanly, then kills what is left of its group. */
async function stopMesh() {
  if (signalMesh("SIGINT")) await Promise.race([wranglerExited, sleep(5000)]);
  signalMesh("SIGKILL");
}
const wranglerLog = [];
for (const stream of [wrangler.stdout, wrangler.stderr]) {
  stream.on("data", (d) => {
    wranglerLog.push(String(d));
    if (wranglerLog.length > 200) wranglerLog.shift();
  });
}
wrangler.on("exit", (code) => {
  if (!shuttingDown) {
    say(`wrangler dev exited (${code}); its last output:\n${wranglerLog.join("")}`);
    process.exit(1);
  }
});

/** @param {boolean} failed a step before it failed: exit 1 even if every origin deregistered */
async function shutdown(failed = false) {
  if (shuttingDown) return;
  shuttingDown = true;
  say("\nshutting down: deregistering origins…");
  const results = await Promise.allSettled(regs.map((r) => r.stop()));
  for (const r of results) if (r.status === "rejected") say(`  ${r.reason}`);
  // Read back through the mesh API, while it still runs, what deregistering left.
  if (regs.length > 0) say(`  instance states after deregistering: ${await states()}`);
  await stopMesh();
  await Promise.all(origins.map((o) => o.stop()));
  control?.close();
  say("stopped");
  process.exit(failed || results.some((r) => r.status === "rejected") ? 1 : 0);
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());

// Wait for the mesh to answer.
const started = Date.now();
for (;;) {
  try {
    const res = await fetch(`${MESH}/_mesh/v1/healthz`);
    if (res.ok) break;
  } catch {}
  if (shuttingDown) await new Promise(() => {}); // shutdown() owns the exit now
  if (Date.now() - started > 90_000) {
    say(`wrangler dev did not start within 90 s:\n${wranglerLog.join("")}`);
    process.exit(1);
  }
  await sleep(300);
}
say(`mesh (wrangler dev) listening on ${MESH}`);

// A fresh service each run, so the registration token can be shown.
await fetch(`${MESH}/_mesh/v1/services/${SERVICE}`, { method: "DELETE", headers: admin });
const created = await fetch(`${MESH}/_mesh/v1/services/${SERVICE}`, {
  method: "PUT",
  headers: admin,
  body: JSON.stringify({
    routes: { pathPrefixes: ["/shop"] },
    healthCheck: { intervalSeconds: 2, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2 },
    retry: { attempts: 3, perTryTimeoutMs: 2000 },
    lease: { ttlSeconds: 30, deregisterAfterSeconds: 120 },
  }),
});
const answer = await created.json().catch(() => ({}));
if (!created.ok || typeof answer.registrationToken !== "string") {
  // Most often MESH_ADMIN_TOKEN in .dev.vars (401) or ALLOW_PRIVATE_ORIGINS unset (the loopback origins refused).
  say(`creating service '${SERVICE}' failed: HTTP ${created.status} ${JSON.stringify(answer)}\ncheck MESH_ADMIN_TOKEN and ALLOW_PRIVATE_ORIGINS="true" in .dev.vars`);
  process.exit(1);
}
const registrationToken = answer.registrationToken;
say(`service '${SERVICE}' created; registration token ${registrationToken}`);

regs = origins.map((o) =>
  registration({ mesh: MESH, service: SERVICE, token: registrationToken, url: o.url, ttlSeconds: 30, log: (l) => say(`  ${l}`) }),
);
// A Ctrl-C between two registrations must not be followed by another one; stop() waits for one in flight.
for (const r of regs) {
  if (shuttingDown) break;
  try {
    await r.start();
  } catch (err) {
    // stop() ends a start() still trying; shutdown() owns the exit then.
    if (shuttingDown) await new Promise(() => {});
    say(`registering an origin failed: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(true);
  }
}

async function show(n, label) {
  const seen = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${MESH}/shop/hello`);
    const body = await res.json().catch(() => ({}));
    seen.push(`${res.status}:${body.origin ?? body.error}${res.headers.get("x-mesh-attempts") === "1" ? "" : `(x${res.headers.get("x-mesh-attempts")})`}`);
  }
  say(`  ${label.padEnd(34)} ${seen.join("  ")}`);
}
/** Each origin's state, read back through the mesh API; bounded, so a wedged mesh gets a message, not a silent wait. */
async function states() {
  try {
    const body = await readJson(`${MESH}/_mesh/v1/services/${SERVICE}`, { what: "reading the instance states", headers: admin });
    return body.instances.map((i) => `${origins.find((o) => o.url === i.url)?.name ?? i.url}=${i.state}`).join("  ");
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
}

if (process.env.DEMO_SKIP_WALKTHROUGH !== "1") {
  say("\nguided run:");
  await show(6, "round-robin over 3 origins:");
  await origins[1].stop();
  say("  killed origin-2 (port closed)");
  await show(6, "right after the kill (no errors):");
  await sleep(3500);
  say(`  instance states: ${await states()}`);
  await origins[1].start();
  say("  restarted origin-2; waiting for 2 passing checks…");
  await sleep(5000);
  say(`  instance states: ${await states()}`);
  await show(6, "origin-2 back in rotation:");
}

// A tiny control server so you can break origins yourself.
control = http.createServer(async (req, res) => {
  const m = /^\/(kill|revive|hang|unhang)\/(origin-[123])$/.exec(req.url ?? "");
  const origin = m && origins.find((o) => o.name === m[2]);
  if (!m || !origin) {
    res.writeHead(404).end("try /kill/origin-2, /revive/origin-2, /hang/origin-3, /unhang/origin-3\n");
    return;
  }
  try {
    if (m[1] === "kill") await origin.stop();
    if (m[1] === "revive") await origin.start();
    if (m[1] === "hang") origin.hang();
    if (m[1] === "unhang") origin.unhang();
    res.end(`${m[1]} ${origin.name}\n`);
  } catch (err) {
    // A control call that fails (the port taken by another process, say) is answered, not a crash of the demo.
    res.writeHead(500).end(`${m[1]} ${origin.name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
});
control.listen(CONTROL_PORT, "127.0.0.1");

say(`
Try it (Ctrl-C to stop; origins deregister on the way out):
  curl -s ${MESH}/shop/hello                                   # watch "origin" rotate
  curl -s -X POST http://127.0.0.1:${CONTROL_PORT}/kill/origin-2              # close origin-2's port
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' ${MESH}/shop/hello; done; echo   # still all 200
  curl -s -H 'Authorization: Bearer ${ADMIN_TOKEN}' ${MESH}/_mesh/v1/services/${SERVICE}   # origin-2 unhealthy
  curl -s -X POST http://127.0.0.1:${CONTROL_PORT}/revive/origin-2            # back after 2 checks (~4 s)
  curl -s -X POST http://127.0.0.1:${CONTROL_PORT}/hang/origin-3              # accepts, never answers: timeouts fail over
  curl -s -X POST http://127.0.0.1:${CONTROL_PORT}/unhang/origin-3            # answers again (so does /revive)
  curl -s '${MESH}/__scheduled?cron=*+*+*+*+*'                  # run the cron sweep now
`);
if (process.env.DEMO_EXIT_AFTER_WALKTHROUGH === "1") await shutdown();
