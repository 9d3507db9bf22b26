// @ts-check
// Runs the real mesh Worker in workerd without wrangler dev's proxy in front:
// `wrangler deploy --dry-run --outdir` produces exactly the bundle that would
// be uploaded, wrangler turns wrangler.toml into Miniflare options, and
// Miniflare serves it on 127.0.0.1. Used by the e2e tests, the demo and the
// benchmarks, so all three run the deployable artefact.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * `wrangler deploy --dry-run --outdir dir` plus any extra `args`; returns
 * wrangler's printed output too (it reports the upload size).
 * @param {{ config?: string, outdir?: string, args?: string[] }} [opts]
 * @returns {Promise<{ dir: string, output: string }>}
 */
export async function wranglerDryRun({ config = "wrangler.toml", outdir, args = [] } = {}) {
  const dir = outdir ?? (await mkdtemp(path.join(tmpdir(), "switchyard-bundle-")));
  const wrangler = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const { stdout, stderr } = await run(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", dir, "--config", config, ...args], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return { dir, output: stdout + stderr };
}

/**
 * Bundles a Worker with wrangler exactly as `wrangler deploy` would.
 * @param {{ config?: string, outdir?: string }} [opts]
 * @returns {Promise<string>} the output directory
 */
export async function bundleWorker(opts = {}) {
  return (await wranglerDryRun(opts)).dir;
}

/**
 * A Worker running in Miniflare: its base URL (no trailing slash) and the
 * Miniflare instance, disposed with dispose().
 * @typedef {{ mf: Miniflare, url: string, dispose: () => Promise<void> }} RunningWorker
 */

/**
 * Starts a bundled Worker in Miniflare on 127.0.0.1.
 * `miniflare` adds or overrides Miniflare options (the benchmarks use it for
 * persistence, the inspector and stdout capture).
 * @param {{ bundleDir: string, config?: string, bindings?: Record<string, string>,
 *           miniflare?: Record<string, unknown> }} opts
 * @returns {Promise<RunningWorker>}
 */
export async function startWorker({ bundleDir, config = "wrangler.toml", bindings = {}, miniflare = {} }) {
  // Imported here, not at the top: loading wrangler's module installs its own
  // SIGINT handler that calls process.exit(), which would pre-empt the handler
  // of every script that only wants ROOT or the bundler (the demo's Ctrl-C
  // deregistration never ran). Only callers that start a Worker pay for it.
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, config));
  const mf = new Miniflare({
    ...workerOptions,
    modules: true,
    scriptPath: path.join(bundleDir, "index.js"),
    modulesRoot: bundleDir,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- wrangler's unstable_getMiniflareWorkerOptions types its bindings loosely; they are the config's plain vars
    bindings: { ...(workerOptions.bindings ?? {}), ...bindings },
    host: "127.0.0.1",
    port: 0,
    // State lives in memory for the life of this process: every run starts clean.
    kvPersist: false,
    durableObjectsPersist: false,
    ...miniflare,
  });
  const url = await mf.ready;
  return {
    mf,
    url: url.toString().replace(/\/$/, ""),
    dispose: () => mf.dispose(),
  };
}
