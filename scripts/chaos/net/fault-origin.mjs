// @ts-check
// A loopback origin on a raw node:net server, so a fault can be placed at any
// byte: refuse (port closed), hang or reset before the head, reset or stall
// in the middle of a body (Content-Length or chunked), drip a body, answer 5xx
// at a rate, flap, send `100 Continue` first, or send 10 MB. Every complete
// answer says who sent it and how long its body is (`x-chaos-body-bytes`,
// `x-chaos-sha256`), so a client can tell a whole body from a cut one even
// when the framing between them was rewritten.
import { createHash } from "node:crypto";
import net from "node:net";
import { parseHead, readBody } from "./http-parse.mjs";

/**
 * @typedef {"ok" | "refuse" | "hang" | "reset-before-headers" | "reset-mid-body-cl" | "reset-mid-body-chunked"
 *   | "partial-then-hang" | "drip" | "status-rate" | "continue" | "big" | "clean-truncation"} FaultMode
 * @typedef {{ method: string, path: string, headers: Map<string, string>, body: Buffer, at: number }} SeenRequest
 */

/**
 * One loopback origin, as the cases drive it. `name` comes back in `x-chaos-origin`;
 * `port` is 0 until start() has bound one; `seen` holds every request that reached
 * the origin, health probes included. setMode's `health` also fails the probes
 * (kill, hang, reset); flap() closes and reopens the port every `periodMs` until
 * stopFlap(); heal() cuts every open connection and keeps serving in `ok` mode.
 * @typedef {{ readonly name: string, readonly port: number, readonly url: string, readonly seen: SeenRequest[],
 *   start(): Promise<void>, setMode(mode: FaultMode, opts?: { health?: boolean }): Promise<void>,
 *   flap(periodMs: number): void, stopFlap(): void, heal(): Promise<void>, stop(): Promise<void> }} FaultOrigin
 */

const BIG_BYTES = 10 * 1024 * 1024;
const CUT_BODY_BYTES = 64 * 1024;
/** @param {Buffer | string} b */
const sha = (b) => createHash("sha256").update(b).digest("hex");

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {string} name
 * @param {{ every?: number }} [opts] status-rate answers 503 to every `every`-th request (default 3)
 * @returns {FaultOrigin}
 */
export function createFaultOrigin(name, { every = 3 } = {}) {
  /** @type {FaultMode} */
  let mode = "ok";
  /** Faults on the health path too: a killed, hung or resetting process fails its probes as well. */
  let faultHealth = false;
  let port = 0;
  let counter = 0;
  /** @type {net.Server | null} */
  let server = null;
  /** @type {Set<net.Socket>} */
  const sockets = new Set();
  /** @type {SeenRequest[]} */
  const seen = [];
  /** @type {ReturnType<typeof setInterval> | null} */
  let flapTimer = null;

  /**
   * @param {net.Socket} sock
   * @param {number} status
   * @param {Buffer | string} body
   * @param {Record<string, string>} [extra]
   */
  function answer(sock, status, body, extra = {}) {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const head = [`HTTP/1.1 ${status} ${status === 200 ? "OK" : "Service Unavailable"}`, "content-type: application/json", `content-length: ${bytes.length}`];
    for (const [k, v] of Object.entries({ "x-chaos-origin": name, "x-chaos-body-bytes": String(bytes.length), "x-chaos-sha256": sha(bytes), ...extra })) head.push(`${k}: ${v}`);
    sock.write(`${head.join("\r\n")}\r\n\r\n`);
    sock.write(bytes);
  }

  /** Head for a body that will be cut: it declares the whole length, as a real origin would. @param {net.Socket} sock @param {boolean} chunked */
  function cutHead(sock, chunked) {
    const framing = chunked ? "transfer-encoding: chunked" : `content-length: ${CUT_BODY_BYTES}`;
    sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n${framing}\r\nx-chaos-origin: ${name}\r\nx-chaos-body-bytes: ${CUT_BODY_BYTES}\r\n\r\n`);
  }

  /** @param {net.Socket} sock @param {SeenRequest} req */
  async function respond(sock, req) {
    const health = req.path === "/healthz";
    const m = health && !faultHealth ? "ok" : mode;
    if (health && m === "ok") return answer(sock, 200, "ok");
    switch (m) {
      case "hang":
      case "refuse": // a request that raced the close: the socket is about to be cut
        return;
      case "reset-before-headers":
        sock.resetAndDestroy();
        return;
      case "reset-mid-body-cl":
      case "reset-mid-body-chunked": {
        const chunked = m === "reset-mid-body-chunked";
        cutHead(sock, chunked);
        const part = Buffer.alloc(8192, 0x61);
        sock.write(chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]) : part);
        await sleep(20);
        sock.resetAndDestroy();
        return;
      }
      case "clean-truncation":
        // The defect the matrix looks for, done on purpose: a cut body ended as if it were whole.
        // Only the harness's own self-check uses it, to prove the detector fires.
        cutHead(sock, true);
        sock.write(`2000\r\n${"t".repeat(0x2000)}\r\n0\r\n\r\n`);
        return;
      case "partial-then-hang":
        cutHead(sock, false);
        sock.write(Buffer.alloc(8192, 0x62));
        return; // never another byte; the socket stays open until the case ends
      case "drip": {
        const body = Buffer.alloc(1000, 0x63);
        sock.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nx-chaos-origin: ${name}\r\nx-chaos-body-bytes: ${body.length}\r\nx-chaos-sha256: ${sha(body)}\r\n\r\n`);
        for (let at = 0; at < body.length; at += 50) {
          if (sock.destroyed) return;
          sock.write(body.subarray(at, at + 50));
          await sleep(50);
        }
        return;
      }
      case "status-rate":
        counter++;
        if (counter % every === 0) return answer(sock, 503, JSON.stringify({ origin: name, error: "chaos" }));
        break;
      case "continue":
        sock.write("HTTP/1.1 100 Continue\r\n\r\n");
        break;
      case "big": {
        const body = Buffer.alloc(BIG_BYTES);
        for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
        return answer(sock, 200, body);
      }
      default:
        break;
    }
    answer(sock, 200, JSON.stringify({ origin: name, method: req.method, path: req.path, headers: Object.fromEntries(req.headers), bodySha: sha(req.body), bodyBytes: req.body.length }));
  }

  /** @param {net.Socket} sock */
  function onConnection(sock) {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined); // resets are the point here, not a crash
    let buf = Buffer.alloc(0);
    let continued = false;
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const head = parseHead(buf);
          if (head === null) return;
          if (!continued && /100-continue/i.test(head.headers.get("expect") ?? "")) {
            // A sender that asked may wait for this before sending the body.
            continued = true;
            sock.write("HTTP/1.1 100 Continue\r\n\r\n");
          }
          const body = readBody(head.headers, buf.subarray(head.headBytes), { untilClose: false });
          if (body === null) return;
          buf = buf.subarray(head.headBytes + body.used);
          continued = false;
          const [method = "", path = "/"] = head.startLine.split(" ");
          const req = { method, path, headers: head.headers, body: Buffer.from(body.body), at: Date.now() };
          seen.push(req);
          await respond(sock, req);
          if (sock.destroyed || (mode === "hang" && (req.path !== "/healthz" || faultHealth)) || mode === "partial-then-hang") return;
        }
      } finally {
        busy = false;
      }
    };
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      pump().catch(() => sock.destroy());
    });
  }

  /** @returns {Promise<void>} */
  function listen() {
    return new Promise((resolve, reject) => {
      const s = net.createServer(onConnection);
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        const addr = s.address();
        if (addr !== null && typeof addr === "object") port = addr.port;
        server = s;
        resolve();
      });
    });
  }

  /** @returns {Promise<void>} */
  function close() {
    return new Promise((resolve) => {
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (s === null) return resolve();
      s.close(() => resolve());
    });
  }

  function stopFlap() {
    if (flapTimer !== null) clearInterval(flapTimer);
    flapTimer = null;
  }

  return {
    name,
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    /** Requests that reached this origin, health probes included. */
    seen,
    start: listen,
    /**
     * @param {FaultMode} next
     * @param {{ health?: boolean }} [opts] also fail health probes (kill, hang, reset)
     */
    async setMode(next, { health = false } = {}) {
      faultHealth = health;
      if (next === "refuse" && server !== null) await close();
      if (next !== "refuse" && server === null) await listen();
      mode = next;
    },
    /**
     * Closes and reopens the port every `periodMs` (refuse, then answer) until stopFlap().
     * @param {number} periodMs
     */
    flap(periodMs) {
      let up = true;
      flapTimer = setInterval(() => {
        up = !up;
        (up ? listen() : close()).catch(() => undefined);
      }, periodMs);
    },
    stopFlap,
    /** Cuts every open connection (hung and stalled ones included) and keeps serving in `ok` mode. */
    async heal() {
      stopFlap();
      mode = "ok";
      faultHealth = false;
      for (const sock of sockets) sock.destroy();
      if (server === null) await listen();
    },
    async stop() {
      stopFlap();
      await close();
    },
  };
}
