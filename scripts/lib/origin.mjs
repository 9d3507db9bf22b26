// @ts-check
// A small, controllable HTTP origin for the demo, the tests and the benchmarks.
// Every answer says which origin served it, so routing and failover are visible.
//
//   GET  /healthz            200 while healthy, 503 after POST /__control {"healthy":false}
//   POST /__control          {"healthy":bool,"status":int|null,"delayMs":int,"fault":string|null} changes behaviour
//                            (`fault`: one of the faults below for every request that names none, so one
//                            origin of several misbehaves while the others answer)
//   *    anything else       200 JSON {origin, method, path, query, target, headers, body}
//                            (`target`: the request target exactly as it arrived, e.g. "/a?" with its empty query)
//
// A request may ask for a misbehaving answer with the `x-origin-fault` header
// (per request, so tests sharing these origins cannot disturb each other):
//   reset-before-headers  the connection is cut once the request has been read
//   garbage-headers       an answer that is not HTTP, then the connection is cut
//   reset-mid-body        a chunked 200 whose connection is cut after the first chunk
//   reset-mid-sized-body  a 200 with Content-Length 1000 cut after 8 bytes
//   hang-mid-body         a chunked 200 that sends its first chunk and then nothing
//   hang-mid-sized-body   a 200 with Content-Length 1000 that sends 8 bytes and then nothing
//   hop-by-hop-headers    a 200 that carries hop-by-hop headers (Connection naming X-Origin-Private,
//                         Proxy-Authenticate, Trailer, Upgrade, Keep-Alive) a proxy must not relay
//   raw                   the bytes of the request's `x-origin-raw` header (base64) written as the whole
//                         answer, then the connection is closed: for answers Node's http would refuse to
//                         write (a 205 with a body, repeated or malformed headers, a lying Content-Length)
// and with `x-origin-retry-after: <value>` for a 503 that carries `Retry-After: <value>`.
//
// stop() closes the port (clients see connection refused); start() reopens the
// same port; hang() keeps accepting connections but never answers.
import http from "node:http";

/**
 * An HTTP server that can be closed and reopened on the same port. stop()
 * cuts every open connection too, so clients see refused or reset connections
 * rather than a server that drains politely. hang() makes it a wedged process
 * (handlers check `hanging` and never answer) until unhang() or the next
 * start(). Shared by createOrigin and the bench's instrumented origins
 * (scripts/bench/lib/origin-host-process.mjs).
 * @param {http.RequestListener} handle
 * @param {{ port?: number, host?: string, keepAliveTimeoutMs: number }} opts
 */
export function restartableServer(handle, { port = 0, host = "127.0.0.1", keepAliveTimeoutMs }) {
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  /** @type {http.Server | null} */
  let server = null;
  let boundPort = port;
  let hanging = false;
  /** @type {Promise<number> | null} a start() still listening: another start() waits for it, a stop() too */
  let starting = null;
  return {
    get port() {
      return boundPort;
    },
    get hanging() {
      return hanging;
    },
    hang() {
      hanging = true;
    },
    unhang() {
      hanging = false;
    },
    /**
     * Opens the port, or, when it is open already, only ends a hang: a second
     * start() used to listen again on the bound port and throw EADDRINUSE,
     * which took `npm start` down when its "revive" was sent to a live origin.
     * @returns {Promise<number>} the bound port
     */
    start() {
      hanging = false;
      if (server !== null) return Promise.resolve(boundPort);
      if (starting !== null) return starting;
      starting = new Promise((resolve, reject) => {
        const s = http.createServer(handle);
        s.keepAliveTimeout = keepAliveTimeoutMs;
        s.on("connection", (sock) => {
          sockets.add(sock);
          sock.on("close", () => sockets.delete(sock));
        });
        s.once("error", reject);
        s.listen(boundPort, host, () => {
          const addr = s.address();
          if (addr !== null && typeof addr === "object") boundPort = addr.port;
          server = s;
          resolve(boundPort);
        });
      });
      const started = starting;
      // Cleared however it ends, so a failed listen can be tried again.
      started.then(
        () => (starting = null),
        () => (starting = null),
      );
      return started;
    },
    /** Closes the port and every open connection (after a start() still listening, which it would otherwise miss). */
    async stop() {
      if (starting !== null) await starting.catch(() => undefined);
      /** @type {Promise<void>} */
      const closed = new Promise((resolve) => {
        const s = server;
        server = null;
        for (const sock of sockets) sock.destroy();
        sockets.clear();
        if (s === null) return resolve(undefined);
        s.close(() => resolve(undefined));
      });
      await closed;
    },
  };
}

/** First chunk of every faulty body: what a client sees before the cut. */
export const PARTIAL_BODY = "partial-";

/**
 * Answers with a body that breaks part-way, when the request asks for one.
 * The cut comes 50 ms after the first chunk so the chunk has left the socket
 * (a destroy right after write can discard it).
 * @param {string | string[] | undefined} fault @param {http.ServerResponse} res
 * @returns {boolean} true when the fault took over the response
 */
function misbehave(fault, res) {
  const cut = () => setTimeout(() => res.socket?.destroy(), 50);
  switch (fault) {
    case "reset-before-headers":
      res.socket?.destroy();
      return true;
    case "garbage-headers":
      res.socket?.end("NOT-HTTP garbage\r\n\r\n");
      return true;
    case "raw": {
      const raw = res.req.headers["x-origin-raw"];
      res.socket?.end(Buffer.from(typeof raw === "string" ? raw : "", "base64"));
      return true;
    }
    case "reset-mid-body":
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(PARTIAL_BODY);
      cut();
      return true;
    case "reset-mid-sized-body":
      res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
      res.write(PARTIAL_BODY);
      cut();
      return true;
    case "hang-mid-body":
      // The socket stays open until the client gives up or stop() cuts it.
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(PARTIAL_BODY);
      return true;
    case "hang-mid-sized-body":
      res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
      res.write(PARTIAL_BODY);
      return true;
    case "hop-by-hop-headers":
      // Chunked (no Content-Length): Node refuses a Trailer header on an answer that is not, which a HEAD's is not.
      res.writeHead(200, {
        "content-type": "text/plain",
        connection: "keep-alive, x-origin-private",
        "x-origin-private": "1",
        "keep-alive": "timeout=5",
        "proxy-authenticate": "Basic",
        ...(res.req.method === "HEAD" ? {} : { trailer: "x-checksum" }),
        upgrade: "h2c",
        "x-origin-kept": "1",
      });
      res.end("hop-by-hop");
      return true;
    default:
      return false;
  }
}

/**
 * A controllable origin: its name, port and URL, how many requests it served,
 * and start/stop/hang/unhang/setHealthy.
 * @typedef {ReturnType<typeof createOrigin>} Origin
 */

/**
 * @param {{ name: string, port?: number, host?: string, quiet?: boolean }} opts
 */
export function createOrigin({ name, port = 0, host = "127.0.0.1" }) {
  let healthy = true;
  /** @type {number | null} */
  let forcedStatus = null;
  let delayMs = 0;
  /** @type {string | null} */
  let standingFault = null;
  let served = 0;

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async function handle(req, res) {
    if (server.hanging) return; // accept, read, never answer
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://origin");
    if (url.pathname === "/__control" && req.method === "POST") {
      /** @type {unknown} */
      const parsed = body === "" ? {} : JSON.parse(body);
      const cmd = typeof parsed === "object" && parsed !== null ? parsed : {};
      if ("healthy" in cmd && typeof cmd.healthy === "boolean") healthy = cmd.healthy;
      // status: an int forces every answer to it; null (or anything else) clears it.
      if ("status" in cmd) forcedStatus = typeof cmd.status === "number" ? cmd.status : null;
      if ("delayMs" in cmd && typeof cmd.delayMs === "number") delayMs = cmd.delayMs;
      if ("fault" in cmd) standingFault = typeof cmd.fault === "string" ? cmd.fault : null;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name, healthy, status: forcedStatus, delayMs, served }));
      return;
    }
    if (url.pathname === "/healthz") {
      res.writeHead(healthy ? 200 : 503, { "content-type": "text/plain" });
      res.end(healthy ? "ok" : "unhealthy");
      return;
    }
    served++;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (misbehave(req.headers["x-origin-fault"] ?? standingFault ?? undefined, res)) return;
    const retryAfter = req.headers["x-origin-retry-after"];
    const overloaded = typeof retryAfter === "string" ? { "retry-after": retryAfter } : null;
    const payload = JSON.stringify({
      origin: name,
      method: req.method,
      path: url.pathname,
      query: url.search,
      target: req.url,
      headers: req.headers,
      body,
    });
    res.writeHead(overloaded !== null ? 503 : (forcedStatus ?? 200), { "content-type": "application/json", "x-origin": name, ...overloaded });
    res.end(payload);
  }

  const server = restartableServer(
    (req, res) => {
      handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    },
    { port, host, keepAliveTimeoutMs: 5000 },
  );

  const origin = {
    name,
    get port() {
      return server.port;
    },
    get url() {
      return `http://${host}:${server.port}`;
    },
    get served() {
      return served;
    },
    /** @returns {Promise<void>} */
    async start() {
      await server.start();
    },
    /** Closes the port and every open connection: clients see refused connections. */
    stop() {
      return server.stop();
    },
    /** Keeps the port open but never answers, like a wedged process. */
    hang() {
      server.hang();
    },
    unhang() {
      server.unhang();
    },
    /** @param {boolean} value */
    setHealthy(value) {
      healthy = value;
    },
  };
  return origin;
}

/** @param {number} n @param {string} [prefix] @returns {Promise<Origin[]>} */
export async function startOrigins(n, prefix = "origin") {
  const origins = Array.from({ length: n }, (_, i) => createOrigin({ name: `${prefix}-${i + 1}` }));
  await Promise.all(origins.map((o) => o.start()));
  return origins;
}
