// @ts-check
// The mesh and its local Logpush in one Miniflare: the deployable mesh bundle
// with `tails` pointing at workers/logpush-local, which writes Workers Trace
// Events objects into an emulated R2 bucket. Used by test/e2e/logpush.test.ts;
// `exportObjects` copies the bucket to a folder that `npm run logs:report` reads
// as it would a real Logpush job's R2 export.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Miniflare } from "miniflare";
import { bundleWorker, ROOT } from "./mesh-runtime.mjs";

export const LOGPUSH_CONFIG = "workers/logpush-local/wrangler.toml";
export const LOGPUSH_WORKER = "switchyard-logpush-local";
export const LOGPUSH_BINDING = "LOGPUSH_BUCKET";

/**
 * The part of Miniflare's R2 binding this reads. Miniflare types its bindings
 * with @cloudflare/workers-types, which this project does not install (the
 * Worker's types come from `wrangler types`), so the binding is checked at
 * run time against this shape instead.
 * @typedef {{
 *   list(options: { limit: number, cursor?: string }): Promise<{ objects: { key: string }[], truncated: boolean, cursor?: string }>,
 *   get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>
 * }} BucketReader
 */

/**
 * @param {unknown} b
 * @returns {b is BucketReader}
 */
function isBucketReader(b) {
  return typeof b === "object" && b !== null && "list" in b && typeof b.list === "function" && "get" in b && typeof b.get === "function";
}

/**
 * @typedef {{ mf: Miniflare, url: string, bucket: () => Promise<BucketReader>, dispose: () => Promise<void> }} MeshWithLogpush
 */

/**
 * Starts the mesh bundle (`meshBundleDir`, from bundleWorker()) with the tail Worker as its tail consumer.
 * @param {{ meshBundleDir: string, tailBundleDir?: string, bindings?: Record<string, string>,
 *           miniflare?: Record<string, unknown> }} opts
 * @returns {Promise<MeshWithLogpush>}
 */
export async function startMeshWithLogpush({ meshBundleDir, tailBundleDir, bindings = {}, miniflare = {} }) {
  // Imported late for the reason mesh-runtime.mjs gives (wrangler installs a SIGINT handler).
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const mesh = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml")).workerOptions;
  const tail = unstable_getMiniflareWorkerOptions(path.join(ROOT, LOGPUSH_CONFIG)).workerOptions;
  const tailDir = tailBundleDir ?? (await bundleWorker({ config: LOGPUSH_CONFIG }));
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    kvPersist: false,
    durableObjectsPersist: false,
    r2Persist: false,
    ...miniflare,
    workers: [
      {
        ...mesh,
        modules: true,
        scriptPath: path.join(meshBundleDir, "index.js"),
        modulesRoot: meshBundleDir,
        // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- wrangler types the config's bindings loosely; they are plain vars
        bindings: { ...(mesh.bindings ?? {}), ...bindings },
        // What `tail_consumers = [{ service = "switchyard-logpush-local" }]` does in a deployment.
        tails: [LOGPUSH_WORKER],
      },
      { ...tail, name: LOGPUSH_WORKER, modules: true, scriptPath: path.join(tailDir, "index.js"), modulesRoot: tailDir },
    ],
  });
  const url = await mf.ready;
  return {
    mf,
    url: url.toString().replace(/\/$/, ""),
    async bucket() {
      /** @type {unknown} */
      const binding = await mf.getR2Bucket(LOGPUSH_BINDING, LOGPUSH_WORKER);
      if (!isBucketReader(binding)) throw new Error(`${LOGPUSH_BINDING} is not an R2 bucket`);
      return binding;
    },
    dispose: () => mf.dispose(),
  };
}

/**
 * Copies every object of the local Logpush bucket under `dir`, keeping the
 * object names (`YYYYMMDD/…log.gz`). Returns the keys written.
 * @param {MeshWithLogpush} running
 * @param {string} dir
 * @returns {Promise<string[]>}
 */
export async function exportObjects(running, dir) {
  const bucket = await running.bucket();
  /** @type {string[]} */
  const keys = [];
  /** @type {string | undefined} */
  let cursor;
  do {
    const page = await bucket.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const o of page.objects) keys.push(o.key);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  for (const key of keys) {
    const object = await bucket.get(key);
    if (object === null) continue;
    const file = path.join(dir, ...key.split("/"));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, new Uint8Array(await object.arrayBuffer()));
  }
  return keys;
}
