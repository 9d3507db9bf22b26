// Starting Workers for the bench. Rows that need nothing special use
// scripts/lib/mesh-runtime.mjs's startWorker as is, so the bench runs the same
// artefact the e2e tests and the demo run. Three cases need Miniflare options
// startWorker sets to defaults, and pass them through its `miniflare` option:
//  - onStdout: REQUEST_LOG=json prints one line per request; we count and
//    discard them instead of letting Miniflare copy them to our terminal;
//  - persistDir: the cold-start measurement restarts workerd on the same
//    on-disk KV / Durable Object state to get a truly cold isolate;
//  - inspectorPort: scripts/bench/profile.mjs takes a V8 CPU profile of the
//    Worker under load through workerd's inspector.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { startWorker } from "../../lib/mesh-runtime.mjs";
import { procStat } from "./cpu.mjs";

export { bundleWorker, ROOT } from "../../lib/mesh-runtime.mjs";

/**
 * @param {{ bundleDir: string, config?: string, bindings?: Record<string, string>,
 *           onStdout?: (line: string) => void, persistDir?: string, inspectorPort?: number }} opts
 */
export async function startWorkerWith({ bundleDir, config = "wrangler.toml", bindings = {}, onStdout, persistDir, inspectorPort }) {
  return startWorker({
    bundleDir,
    config,
    bindings,
    miniflare: {
      ...(inspectorPort === undefined ? {} : { inspectorPort }),
      ...(persistDir === undefined ? {} : { kvPersist: path.join(persistDir, "kv"), durableObjectsPersist: path.join(persistDir, "do") }),
      ...(onStdout === undefined
        ? {}
        : {
            handleRuntimeStdio(stdout, stderr) {
              createInterface({ input: stdout }).on("line", onStdout);
              stderr.resume();
            },
          }),
    },
  });
}

/** Starts a Worker like startWorkerWith and returns the pids of the workerd processes it started, for CPU accounting. */
export async function startWorkerTracked(opts) {
  const before = new Set(await workerdPids());
  const worker = await startWorkerWith(opts);
  const pids = (await workerdPids()).filter((p) => !before.has(p));
  return { worker, pids };
}

/** Pids of the workerd processes this bench started (children of this process), for CPU accounting. */
export async function workerdPids() {
  const pids = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await procStat(entry);
    if (stat?.comm === "workerd" && Number(stat.fields[1]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}
