// @ts-check
// N router Workers against one coordinator, in one Miniflare: the core Worker
// (coordinator, registry, API) and N copies of the same bundle whose Durable
// Object bindings point at core's classes. Miniflare gives every Worker of one
// instance the same Cache API, so the N routers stand for N isolates of one
// location. Used by the bench's N-router scenario and the scale model's
// measurements.
import path from "node:path";
import { createInterface } from "node:readline";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { ROOT } from "./worker-runtime.mjs";

/**
 * Starts the fleet. Router i answers requests for host `r<i>.fleet.test` on
 * the returned URL, and is also reachable as `mf.getWorker("router-<i>")`.
 * `onLogLine`, when given, takes the Workers' stdout and stderr lines instead
 * of this process's output.
 * @param {{ bundleDir: string, routers: number, bindings: Record<string, string>, onLogLine?: (line: string) => void }} o
 * @returns {Promise<{ mf: Miniflare, url: string }>}
 */
export async function startFleet({ bundleDir, routers, bindings, onLogLine }) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  const script = { modules: true, scriptPath: path.join(bundleDir, "index.js"), modulesRoot: bundleDir };
  const core = { ...workerOptions, ...script, name: "core", triggers: undefined, bindings: { ...(workerOptions.bindings ?? {}), ...bindings } };
  const fleet = Array.from({ length: routers }, (_, i) => ({
    ...script,
    name: `router-${i}`,
    compatibilityDate: workerOptions.compatibilityDate,
    compatibilityFlags: workerOptions.compatibilityFlags,
    // The bundle imports the dashboard's files as text modules (wrangler.toml [[rules]]).
    modulesRules: workerOptions.modulesRules,
    routes: [`r${i}.fleet.test/*`],
    kvNamespaces: workerOptions.kvNamespaces,
    durableObjects: {
      SERVICES: { className: "ServiceCoordinator", scriptName: "core" },
      ROUTES: { className: "RouteRegistry", scriptName: "core" },
    },
    bindings,
  }));
  const mf = new Miniflare({
    workers: [core, ...fleet],
    host: "127.0.0.1",
    port: 0,
    kvPersist: false,
    durableObjectsPersist: false,
    ...(onLogLine === undefined
      ? {}
      : {
          handleRuntimeStdio(/** @type {import("node:stream").Readable} */ stdout, /** @type {import("node:stream").Readable} */ stderr) {
            createInterface({ input: stdout }).on("line", onLogLine);
            createInterface({ input: stderr }).on("line", onLogLine);
          },
        }),
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url };
}
