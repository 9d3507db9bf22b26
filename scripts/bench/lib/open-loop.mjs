// @ts-check
// Open-loop load from Node, for the failover timeline: requests leave at a
// fixed rate whatever the answers do (a closed loop would slow down exactly
// when the mesh is in trouble and hide the problem), over keep-alive sockets,
// and every request is recorded: when it left, when it finished, its status,
// which origin answered (x-origin) and how many tries the mesh made
// (x-mesh-attempts).
import http from "node:http";
import { performance } from "node:perf_hooks";

const now = () => performance.timeOrigin + performance.now();

/**
 * @typedef {{ sent: number, done: number, status: number, origin: string | null, attempts: number, error: string | null, reusedSocket: boolean }} RequestRecord
 * @param {{ url: string, rate: number, durationMs: number, maxSockets: number, timeoutMs?: number,
 *           at?: { ms: number, run: () => Promise<unknown> }[] }} opts
 *   `at` runs actions at offsets from the start (fault injection) without pausing the load.
 *   `maxSockets` must cover every request that can be stuck at once (rate × the longest
 *   wait), or the client itself queues requests and the run measures the client.
 * @returns {Promise<{ t0: number, records: RequestRecord[], maxClientQueue: number }>}
 */
export async function openLoop({ url, rate, durationMs, maxSockets, timeoutMs = 10_000, at = [] }) {
  const target = new URL(url);
  // Idle sockets are closed by us after 1 s, before the server's idle timeout can close one
  // under a request we are just sending on it (a keep-alive race that is the client's, not the mesh's).
  const agent = new http.Agent({ keepAlive: true, maxSockets, timeout: 1000 });
  /** @type {RequestRecord[]} */
  const records = [];
  /** @type {Set<Promise<void>>} */
  const inflight = new Set();
  const t0 = now();
  let issued = 0;
  let maxClientQueue = 0;
  const actions = at.map((a) => ({ ...a, done: false }));
  /** @type {Promise<unknown>[]} */
  const actionPromises = [];

  function fire() {
    /** @type {RequestRecord} */
    const rec = { sent: now(), done: 0, status: 0, origin: null, attempts: 0, error: null, reusedSocket: false };
    records.push(rec);
    /** @type {Promise<void>} */
    const p = new Promise((resolve) => {
      const req = http.get({ host: target.hostname, port: target.port, path: target.pathname, agent }, (res) => {
        rec.status = res.statusCode ?? 0;
        const origin = res.headers["x-origin"];
        rec.origin = typeof origin === "string" ? origin : null;
        rec.attempts = Number(res.headers["x-mesh-attempts"] ?? 0);
        res.on("data", () => {});
        res.on("end", () => {
          rec.done = now();
          resolve();
        });
        res.on("error", (err) => {
          rec.done = now();
          rec.error = String(err);
          resolve(undefined);
        });
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`client timeout ${timeoutMs} ms`)));
      req.on("error", (err) => {
        rec.done = now();
        rec.error = err.message;
        rec.reusedSocket = req.reusedSocket;
        resolve(undefined);
      });
    });
    inflight.add(p);
    // p never rejects (every outcome resolves it after recording), so this
    // bookkeeping chain cannot leave an unhandled rejection.
    void p.then(() => inflight.delete(p));
  }

  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = now() - t0;
      for (const a of actions) {
        if (!a.done && elapsed >= a.ms) {
          a.done = true;
          actionPromises.push(a.run());
        }
      }
      const due = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor((durationMs / 1000) * rate));
      while (issued < due) {
        issued++;
        fire();
      }
      let queued = 0;
      for (const q of Object.values(agent.requests)) queued += q?.length ?? 0;
      if (queued > maxClientQueue) maxClientQueue = queued;
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve(undefined);
      }
    }, 1);
  });
  await Promise.all([...inflight, ...actionPromises]);
  agent.destroy();
  return { t0, records, maxClientQueue };
}
