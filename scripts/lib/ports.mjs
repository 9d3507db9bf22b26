// @ts-check
// The demo's ports are fixed (8787, 8790, 9101-9103) so its curl lines can be
// copied. When one is already taken (an earlier demo left running, or
// `npm run dev` on 8787), the demo must say so and stop: wrangler dev given
// `--port` in use does not move elsewhere, and the demo's readiness probe would
// find the *other* mesh answering /_mesh/v1/healthz and drive it (deleting and
// re-creating its service). So every port is checked before anything starts.
import net from "node:net";

/**
 * Resolves true when `host:port` can be bound right now (the listener is closed
 * again at once), false when the port is in use; other errors reject.
 * @param {number} port @param {string} [host]
 * @returns {Promise<boolean>}
 */
export function portIsFree(port, host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (/** @type {NodeJS.ErrnoException} */ err) => {
      if (err.code === "EADDRINUSE") resolve(false);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Checks every named port; returns one line per taken port (empty when all are free).
 * @param {{ name: string, port: number }[]} wanted @param {string} [host]
 * @returns {Promise<string[]>}
 */
export async function takenPorts(wanted, host = "127.0.0.1") {
  const lines = [];
  for (const { name, port } of wanted) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      lines.push(`${name}: ${String(port)} is not a port number (1-65535)`);
    } else if (!(await portIsFree(port, host))) {
      lines.push(`${name}: ${host}:${port} is already in use (an earlier demo or \`npm run dev\` still running?)`);
    }
  }
  return lines;
}

/**
 * @typedef {{ mesh: number, control: number, origins: number[], inspector: number | undefined }} DemoPorts
 */

/** What the guided run and the control server name: origin-1 to origin-3. */
const DEMO_ORIGINS = 3;

/**
 * The demo's ports from its environment, checked before any is bound. Number() used to read them: "" became 0
 * (reported as "0"), "0x1f90" became 8080; one origin port crashed the guided run (it stops origin-2), and a port
 * named twice was free for each check alone, then the second bind failed or the demo probed an origin as the mesh.
 * @param {Record<string, string | undefined>} env
 * @returns {{ ports: DemoPorts, problems: string[] }} problems: one line each, empty when the ports can be tried
 */
export function demoPorts(env) {
  /** @type {string[]} */
  const problems = [];
  /** @param {string} name @param {string} raw */
  const port = (name, raw) => {
    // Plain decimal digits only: what a person writes for a port, and what the curl lines print back.
    const n = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
    if (n >= 1 && n <= 65535) return n;
    problems.push(`${name}: '${raw}' is not a port number (1-65535)`);
    return Number.NaN;
  };
  const mesh = port("MESH_PORT", env.MESH_PORT ?? "8787");
  const control = port("DEMO_CONTROL_PORT", env.DEMO_CONTROL_PORT ?? "8790");
  const originList = env.DEMO_ORIGIN_PORTS ?? "9101,9102,9103";
  const origins = originList.split(",").map((p) => port("DEMO_ORIGIN_PORTS", p));
  if (origins.length !== DEMO_ORIGINS) {
    problems.push(`DEMO_ORIGIN_PORTS: '${originList}' lists ${origins.length} port(s); the demo runs three origins, e.g. '9101,9102,9103'`);
  }
  const inspector = env.DEMO_INSPECTOR_PORT === undefined ? undefined : port("DEMO_INSPECTOR_PORT", env.DEMO_INSPECTOR_PORT);
  /** @type {[string, number | undefined][]} */
  const named = [["MESH_PORT", mesh], ["DEMO_CONTROL_PORT", control], ...origins.map((p) => /** @type {[string, number]} */ (["DEMO_ORIGIN_PORTS", p])), ["DEMO_INSPECTOR_PORT", inspector]];
  /** @type {Map<number, string>} */
  const owner = new Map();
  for (const [name, p] of named) {
    if (p === undefined || Number.isNaN(p)) continue;
    const first = owner.get(p);
    if (first === undefined) owner.set(p, name);
    else problems.push(`${name}: ${p} is named twice (${first}, ${name})`);
  }
  return { ports: { mesh, control, origins, inspector }, problems };
}
