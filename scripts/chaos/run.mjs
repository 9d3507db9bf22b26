// @ts-check
// `npm run chaos`: the fault and abuse matrix against the bundled mesh in
// Miniflare, everything on 127.0.0.1 with bounded request counts, written to
// docs/reliability.md. Two mesh instances: one with ALLOW_PRIVATE_ORIGINS on
// (origins are loopback servers) for origin faults, abusive clients and
// authentication; one with it off, as in production, for hostile
// registrations. A case that misses its target is reported as missed with the
// measurement; a feature this build lacks is reported as not available.
//
//   node scripts/chaos/run.mjs [--out docs/reliability.md] [--only faults,abuse,registrations,auth]
//
// A bad argument, or an --out file that is a folder or in a folder that does not
// exist, is one line on stderr and exit 2, before anything runs.
import { execFileSync } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { bundleWorker, ROOT } from "../lib/mesh-runtime.mjs";
import { outFileProblem } from "../lib/out-file.mjs";
import { parseArgs, USAGE, UsageError } from "./args.mjs";
import { runAuth, SIGNING_BINDING, SIGNING_SECRET } from "./cases/auth.mjs";
import { runClientAbuse } from "./cases/client-abuse.mjs";
import { runOriginFaults } from "./cases/origin-faults.mjs";
import { runRegistrations } from "./cases/registrations.mjs";
import { renderReport, tally } from "./model/report.mjs";
import { startMesh } from "./mesh.mjs";

/** @param {string[]} args */
function git(args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/**
 * The checked arguments, or the exit code when there is nothing to run.
 * @returns {Promise<{ out: string, only: string[] } | number>}
 */
async function readArgs() {
  try {
    const args = parseArgs(process.argv.slice(2), ROOT);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const problem = await outFileProblem(args.out);
    if (problem !== null) throw new UsageError(`--out ${args.out}: ${problem}`);
    return args;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`chaos: ${err.message}\n`);
    return 2;
  }
}

/** @param {{ out: string, only: string[] }} args */
async function main({ out, only }) {
  const started = Date.now();
  /** @param {string} line */
  const log = (line) => console.log(line);
  const commit = git(["rev-parse", "--short=12", "HEAD"]) || "unknown";
  // The report itself does not make the tree dirty: it is what this run writes.
  const dirty = git(["status", "--porcelain", "--", ".", ":(exclude)docs/reliability.md"]) !== "";
  log("bundling the mesh (wrangler deploy --dry-run)…");
  const bundleDir = await bundleWorker();
  /** @type {import("./model/report.mjs").Row[]} */
  const rows = [];
  /** @type {string[]} */
  const notes = [
    "Mesh: `wrangler deploy --dry-run` bundle in Miniflare (workerd), fresh in-memory KV and Durable Objects per phase.",
    "Origin-fault services: health checks every 1 s (timeout 500 ms, 2 to flip), `retry.attempts` 3, `perTryTimeoutMs` 1000; every case gets a new service and three new raw `node:net` origins.",
    "Clients: `fetch` with a hard deadline that covers the body (10 s, 4 s for the stalled-body case, 30 s for 10 MB) for well-behaved traffic; raw `node:net` sockets for abusive clients.",
    "A body counts as silently truncated when the client saw a clean end but got fewer bytes than the origin declared in `x-chaos-body-bytes` (or a different SHA-256).",
    "Hostile registrations: every case must be refused with a 4xx. A prototype key (`__proto__`, `constructor`, `prototype`) or a CR/LF that the URL parser deletes may instead be dropped: such a case counts as accepted only if it is read back from the stored object (a `constructor` metadata name that is stored counts as accepted).",
    "Signatures are checked with the project's own `verify/verify-mesh-signature.mjs` on the requests the origin actually received; replays use the documented replay cache.",
  ];
  try {
    if (only.some((g) => g !== "registrations")) {
      log("phase 1: ALLOW_PRIVATE_ORIGINS on (loopback origins)");
      const mesh = await startMesh(bundleDir, { allowPrivateOrigins: true, bindings: { [SIGNING_BINDING]: SIGNING_SECRET } });
      try {
        if (only.includes("faults")) rows.push(...(await runOriginFaults(mesh, { log })));
        if (only.includes("abuse")) rows.push(...(await runClientAbuse(mesh, { log })));
        if (only.includes("auth")) rows.push(...(await runAuth(mesh, { log })));
        notes.push(`Phase 1 mesh logged ${mesh.loggedErrors} \`router_error\` events (each a 500 \`mesh_error\` answered to a client).`);
      } finally {
        await mesh.dispose();
      }
    }
    if (only.includes("registrations")) {
      log("phase 2: ALLOW_PRIVATE_ORIGINS off (production default)");
      const mesh = await startMesh(bundleDir, { allowPrivateOrigins: false });
      try {
        rows.push(...(await runRegistrations(mesh, { log })));
      } finally {
        await mesh.dispose();
      }
    }
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }
  const durationMs = Date.now() - started;
  await writeFile(out, `${renderReport({ commit, dirty, date: new Date().toISOString(), durationMs, rows, notes })}\n`);
  const t = tally(rows);
  log(`wrote ${path.relative(process.cwd(), out)}: ${t.met} met, ${t.missed} missed, ${t["not available in this build"]} not available, ${t["not measured"]} not measured (${(durationMs / 1000).toFixed(0)} s)`);
}

const args = await readArgs();
if (typeof args === "number") process.exitCode = args;
else {
  main(args).then(
    // Miniflare and undici keep handles open for a while after dispose; the run is over.
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
