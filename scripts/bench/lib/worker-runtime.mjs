// Starting Workers for the bench. Rows that need nothing special use
// scripts/lib/mesh-runtime.mjs's startWorker as is, so the bench runs the same
// artefact the e2e tests and the demo run. Three cases need Miniflare options
// startWorker does not expose, and go through startWorkerWith below with the
// same base options plus:
//  - onStdout: REQUEST_LOG=json prints one line per request; we count and
//    discard them instead of letting Miniflare copy them to our terminal;
//  - persistDir: the cold-start measurement restarts workerd on the same
//    on-disk KV / Durable Object state to get a truly cold isolate;
//  - inspectorPort: scripts/bench/profile.mjs takes a V8 CPU profile of the
//    Worker under load through workerd's inspector.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { ROOT, startWorker } from "../../lib/mesh-runtime.mjs";

export { bundleWorker, startWorker, ROOT } from "../../lib/mesh-runtime.mjs";

/**
 * @param {{ bundleDir: string, config?: string, bindings?: Record<string, string>,
 *           onStdout?: (line: string) => void, persistDir?: string, inspectorPort?: number }} opts
 */
export async function startWorkerWith({ bundleDir, config = "wrangler.toml", bindings = {}, onStdout, persistDir, inspectorPort }) {
  if (onStdout === undefined && persistDir === undefined && inspectorPort === undefined) return startWorker({ bundleDir, config, bindings });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, config));
  const mf = new Miniflare({
    ...workerOptions,
    modules: true,
    scriptPath: path.join(bundleDir, "index.js"),
    modulesRoot: bundleDir,
    bindings: { ...(workerOptions.bindings ?? {}), ...bindings },
    host: "127.0.0.1",
    port: 0,
    verbose: false,
    ...(inspectorPort === undefined ? {} : { inspectorPort }),
    kvPersist: persistDir === undefined ? false : path.join(persistDir, "kv"),
    durableObjectsPersist: persistDir === undefined ? false : path.join(persistDir, "do"),
    ...(onStdout === undefined
      ? {}
      : {
          handleRuntimeStdio(stdout, stderr) {
            createInterface({ input: stdout }).on("line", onStdout);
            stderr.resume();
          },
        }),
  });
  const url = await mf.ready;
  return { mf, url: url.toString().replace(/\/$/, ""), dispose: () => mf.dispose() };
}

/** Pids of the workerd processes this bench started (children of this process), for CPU accounting. */
export async function workerdPids() {
  const pids = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}
