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
