// @ts-check
// Clients of the mesh's data plane: well-behaved ones over fetch (with a hard
// deadline that also covers the body, so a stalled body is an error and not a
// hung run), and abusive ones over raw node:net sockets, which can lie about
// lengths, stop mid-upload or send headers fetch would refuse.
import { createHash } from "node:crypto";
import net from "node:net";
import { parseResponses } from "./http-parse.mjs";

/** @typedef {import("../model/outcomes.mjs").Exchange & { origin: string | null, ms: number }} TimedExchange */

/**
 * One request through fetch, recorded as an Exchange.
 * @param {string} url
 * @param {{ method?: string, body?: string, headers?: Record<string, string>, timeoutMs: number }} opts
 * @returns {Promise<TimedExchange>}
 */
export async function exchange(url, { method = "GET", body, headers = {}, timeoutMs }) {
  const started = Date.now();
  /** @type {TimedExchange} */
  const e = { status: null, error: null, phase: null, receivedBytes: 0, declaredBytes: null, declaredSha: null, receivedSha: null, origin: null, ms: 0 };
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { method, headers, signal, ...(body === undefined ? {} : { body }) });
    e.status = res.status;
    e.origin = res.headers.get("x-chaos-origin");
    const declared = res.headers.get("x-chaos-body-bytes");
    e.declaredBytes = declared === null ? null : Number(declared);
    e.declaredSha = res.headers.get("x-chaos-sha256");
    const hash = createHash("sha256");
    try {
      if (res.body !== null) {
        // Node types the fetch body as a stream of `any`; undici yields Uint8Array chunks.
        const reader = /** @type {ReadableStreamDefaultReader<Uint8Array>} */ (res.body.getReader());
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          e.receivedBytes += value.byteLength;
          hash.update(value);
        }
      }
      e.receivedSha = hash.digest("hex");
    } catch (err) {
      e.error = describe(err);
      e.phase = "body";
    }
  } catch (err) {
    e.error = describe(err);
    e.phase = "headers";
  }
  e.ms = Date.now() - started;
  return e;
}

/** @param {unknown} err */
function describe(err) {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.name}: ${err.message}${cause}`;
}

/**
 * `total` requests, `concurrency` at a time; `hook(i)` runs before request i
 * (to inject a fault part-way through the run).
 * @param {string} url
 * @param {{ total: number, concurrency: number, timeoutMs: number, method?: string,
 *   body?: (i: number) => string, hook?: (i: number) => Promise<void> | void, paceMs?: number }} opts
 * @returns {Promise<TimedExchange[]>}
 */
export async function load(url, { total, concurrency, timeoutMs, method = "GET", body, hook, paceMs = 0 }) {
  /** @type {TimedExchange[]} */
  const out = [];
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      if (hook !== undefined) await hook(i);
      const payload = body?.(i);
      out.push(await exchange(url, { method, timeoutMs, ...(payload === undefined ? {} : { body: payload, headers: { "content-type": "application/json" } }) }));
      // Pacing spreads a bounded request count over a fault that changes with time (a flapping origin).
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}

/**
 * @typedef {{ write: string | Buffer } | { waitMs: number } | { waitForInterimMs: number } | { destroy: true } | { endWrite: true }} RawStep
 * @typedef {{ responses: ReturnType<typeof parseResponses>, closedByPeer: boolean, error: string | null, ms: number, bytes: number }} RawResult
 */

/**
 * Plays `steps` on one raw TCP connection to 127.0.0.1:`port`, then reads
 * until the peer closes or `timeoutMs` passes. `destroy` drops the connection
 * at once (an aborted upload); `waitForInterimMs` waits for a `100 Continue`
 * (or any bytes) for at most that long.
 * @param {number} port
 * @param {RawStep[]} steps
 * @param {{ timeoutMs: number, readAll?: boolean }} opts without readAll, it stops at the first complete final response
 * @returns {Promise<RawResult>}
 */
export function rawExchange(port, steps, { timeoutMs, readAll = false }) {
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    /** @type {Buffer[]} */
    const chunks = [];
    let closedByPeer = false;
    /** @type {string | null} */
    let error = null;
    let done = false;
    /** @type {(() => void) | null} */
    let onData = null;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const buf = Buffer.concat(chunks);
      resolve({ responses: parseResponses(buf), closedByPeer, error, ms: Date.now() - started, bytes: buf.length });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on("data", (c) => {
      chunks.push(c);
      onData?.();
      if (!readAll && parseResponses(Buffer.concat(chunks)).some((r) => r.status >= 200 && r.complete && r.headers.has("content-length"))) finish();
    });
    sock.on("end", () => {
      closedByPeer = true;
      finish();
    });
    sock.on("error", (err) => {
      error = err.message;
      finish();
    });
    sock.on("connect", () => {
      const play = async () => {
        for (const step of steps) {
          if (done) return;
          if ("write" in step) sock.write(step.write);
          else if ("waitMs" in step) await new Promise((r) => setTimeout(r, step.waitMs));
          else if ("waitForInterimMs" in step) {
            if (chunks.length === 0) {
              await new Promise((r) => {
                const t = setTimeout(r, step.waitForInterimMs);
                onData = () => {
                  clearTimeout(t);
                  r(undefined);
                };
              });
              onData = null;
            }
          } else if ("endWrite" in step) sock.end();
          else if ("destroy" in step) {
            finish();
            return;
          }
        }
      };
      play().catch((err) => {
        error = String(err);
        finish();
      });
    });
  });
}
