// @ts-check
// The mesh under test and its control-plane calls, for the chaos cases. One
// Miniflare per phase (scripts/lib/mesh-runtime.mjs), all on 127.0.0.1.
import { startWorker } from "../lib/mesh-runtime.mjs";

export const ADMIN_TOKEN = "chaos-admin-token";

/**
 * A running mesh. `loggedErrors` counts the router_error events the Worker logged
 * so far (each a 500 mesh_error with its stack), read live from its output.
 * @typedef {{ url: string, port: number, dispose(): Promise<void>, readonly loggedErrors: number }} Mesh
 * @typedef {{ id: string, url: string, state: string, ejectedUntil: string | null, requests?: number, failures?: number }} InstanceView
 * @typedef {{ service: { config: Record<string, unknown> }, instances: InstanceView[] }} ServiceReply
 */

/**
 * @param {string} bundleDir
 * @param {{ allowPrivateOrigins: boolean, bindings?: Record<string, string> }} opts
 * @returns {Promise<Mesh>}
 */
export async function startMesh(bundleDir, { allowPrivateOrigins, bindings = {} }) {
  let loggedErrors = 0;
  const w = await startWorker({
    bundleDir,
    bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: allowPrivateOrigins ? "true" : "false", REQUEST_LOG: "off", ...bindings },
    miniflare: {
      // The Worker's logs would drown the run's output; what matters from them is how many
      // routing errors (500 mesh_error, each logged with its stack) the matrix provoked.
      /** @param {import("node:stream").Readable} stdout @param {import("node:stream").Readable} stderr */
      handleRuntimeStdio(stdout, stderr) {
        /** @param {Buffer} chunk */
        const count = (chunk) => {
          loggedErrors += (chunk.toString("utf8").match(/"event":"router_error"/g) ?? []).length;
        };
        stdout.on("data", count);
        stderr.on("data", count);
      },
    },
  });
  return {
    url: w.url,
    port: Number(new URL(w.url).port),
    dispose: () => w.dispose(),
    get loggedErrors() {
      return loggedErrors;
    },
  };
}

/**
 * A control-plane call: status and raw text (hostile inputs may get non-JSON answers).
 * @param {Mesh} mesh
 * @param {string} method
 * @param {string} path
 * @param {{ body?: string, token?: string, contentType?: string }} [opts]
 * @returns {Promise<{ status: number, text: string }>}
 */
export async function call(mesh, method, path, { body, token = ADMIN_TOKEN, contentType = "application/json" } = {}) {
  const res = await fetch(`${mesh.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    signal: AbortSignal.timeout(15_000),
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, text: await res.text() };
}

/** JSON from an answer that may not be JSON (hostile inputs get odd answers): null when it is not. @param {string} text @returns {unknown} */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Creates (or replaces) a service; returns its registration token.
 * @param {Mesh} mesh @param {string} name @param {Record<string, unknown>} config
 * @returns {Promise<string>}
 */
export async function createService(mesh, name, config) {
  const r = await call(mesh, "PUT", `/_mesh/v1/services/${name}`, { body: JSON.stringify(config) });
  const body = /** @type {{ registrationToken?: unknown } | null} */ (parseJson(r.text));
  if ((r.status !== 201 && r.status !== 200) || typeof body?.registrationToken !== "string") {
    throw new Error(`creating service ${name}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  return body.registrationToken;
}

/**
 * @param {Mesh} mesh @param {string} service @param {string} token @param {string} url
 * @returns {Promise<string>} the instance id
 */
export async function register(mesh, service, token, url) {
  const r = await call(mesh, "POST", `/_mesh/v1/services/${service}/instances`, { body: JSON.stringify({ url, ttlSeconds: 3600 }), token });
  const body = /** @type {{ id?: unknown } | null} */ (parseJson(r.text));
  if ((r.status !== 201 && r.status !== 200) || typeof body?.id !== "string") throw new Error(`registering ${url}: ${r.status} ${r.text.slice(0, 200)}`);
  return body.id;
}

/**
 * The service as the admin API shows it, or null when it cannot be read.
 * @param {Mesh} mesh @param {string} service
 * @returns {Promise<ServiceReply | null>}
 */
export async function view(mesh, service) {
  const r = await call(mesh, "GET", `/_mesh/v1/services/${service}`);
  if (r.status !== 200) return null;
  return /** @type {ServiceReply | null} */ (parseJson(r.text));
}

/**
 * Waits, with a hard deadline, until `check` holds; returns whether it did.
 * @param {number} deadlineMs @param {() => Promise<boolean>} check
 * @returns {Promise<boolean>}
 */
export async function until(deadlineMs, check) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
