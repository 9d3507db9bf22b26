import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { meshCall } from "./harness.js";

/**
 * WebSockets through the deployable bundle in workerd, over real sockets: the
 * client is the `ws` package, the origins are `ws` servers on loopback. The
 * mesh asks the origin for the upgrade itself (its Upgrade and Connection are
 * hop-by-hop) and hands the origin's socket back with the 101, so workerd
 * joins the two connections.
 */

const ADMIN = "e2e-websocket-admin";

interface WsOrigin {
  url: string;
  name: string;
  /** The headers of every upgrade request it was sent, and of every plain request, in order. */
  upgrades: IncomingHttpHeaders[];
  plain: { path: string; headers: IncomingHttpHeaders }[];
  /** Close codes and reasons its sockets saw. */
  closes: { code: number; reason: string }[];
  /** Its side of each socket, by the path the handshake asked for. */
  sockets: Map<string, WebSocket>;
  close(): Promise<void>;
}

/** Echoes each message as `<name>:<message>`; a path ending in /refuse answers the handshake 426 instead. */
async function startWsOrigin(name: string): Promise<WsOrigin> {
  const upgrades: IncomingHttpHeaders[] = [];
  const plain: WsOrigin["plain"] = [];
  const closes: WsOrigin["closes"] = [];
  const sockets = new Map<string, WebSocket>();
  // Of the subprotocols a client offers, the origin takes the last (so a test can tell that the origin chose).
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered].at(-1) ?? false });
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    if (path !== "/healthz") plain.push({ path, headers: req.headers });
    req.resume();
    res.writeHead(200, { "content-type": "text/plain" }).end(`${name} plain`);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(req.headers);
    if ((req.url ?? "").endsWith("/refuse")) {
      socket.end("HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.set(new URL(req.url ?? "/", "http://origin").pathname, ws);
      ws.on("message", (data) => ws.send(`${name}:${text(data)}`));
      ws.on("close", (code, reason) => closes.push({ code, reason: String(reason) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    name,
    upgrades,
    plain,
    closes,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A server that takes connections and never answers (a wedged process); close() ends it. */
async function hungServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port that was just listened on and closed: connections to it are refused. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A message's text: `ws` hands over a Buffer (its default binaryType), or a Buffer list for fragments. */
function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return (Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data))).toString("utf8");
}

interface Opened {
  socket: WebSocket;
  headers: IncomingHttpHeaders;
}

/** Opens a WebSocket through the mesh; resolves once open, with the 101's headers, or rejects with the refusal's status. */
function openSocket(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, { headers });
    let upgradeHeaders: IncomingHttpHeaders = {};
    socket.on("upgrade", (res) => (upgradeHeaders = res.headers));
    socket.on("open", () => resolve({ socket, headers: upgradeHeaders }));
    socket.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += String(c)));
      res.on("end", () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
    socket.on("error", reject);
  });
}

function nextMessage(socket: WebSocket): Promise<string> {
  return new Promise((resolve) => socket.once("message", (data) => resolve(text(data))));
}

function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: String(reason) })));
}

describe("end to end: WebSockets through the mesh", { timeout: 20_000 }, () => {
  let mesh: RunningWorker;
  let a: WsOrigin;
  let b: WsOrigin;
  let ws: string;
  let hung: Awaited<ReturnType<typeof hungServer>>;

  const admin = <T>(method: string, path: string, body: unknown, token = ADMIN) => meshCall<T>(mesh.url, method, `/_mesh/v1/services/${path}`, body, token);

  async function serve(name: string, urls: string[], config: Record<string, unknown> = {}): Promise<void> {
    const created = await admin<{ registrationToken: string }>("PUT", name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
    expect(created.status).toBe(201);
    for (const url of urls) {
      const reg = await admin("POST", `${name}/instances`, { url, ttlSeconds: 3600 }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  }

  beforeAll(async () => {
    [a, b, hung] = await Promise.all([startWsOrigin("a"), startWsOrigin("b"), hungServer()]);
    mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
    });
    ws = mesh.url.replace(/^http/, "ws");
    await serve("chat", [a.url]);
    await serve("capped", [a.url], { maxConcurrentRequestsPerInstance: 1 });
    // The dead instance first in rotation or not, every handshake must land on b.
    await serve("spare", [await closedPort(), b.url], { retry: { attempts: 2 } });
    await serve("wedged", [hung.url, b.url], { retry: { attempts: 2, perTryTimeoutMs: 500 } });
  });

  afterAll(async () => {
    await mesh.dispose();
    await Promise.all([a.close(), b.close(), hung.close()]);
  });

  it("fails a handshake over: with one instance refusing connections, every socket opens on the other", async () => {
    const attempts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { socket, headers } = await openSocket(`${ws}/spare/s${i}`);
      attempts.push(String(headers["x-mesh-attempts"]));
      const reply = nextMessage(socket);
      socket.send(`m${i}`);
      expect(await reply).toBe(`b:m${i}`);
      socket.close(1000);
    }
    // Round-robin sends one of the first two to the dead instance (health checks, every 10 s, have not
    // marked it yet): that handshake was tried twice. The failed try marks it, so the rest go straight to b.
    expect(attempts).toContain("2");
  });

  it("times a handshake out on an origin that never answers, and fails it over: per-try timeout, then the other instance", async () => {
    const tried: { attempts: string; ms: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const { socket, headers } = await openSocket(`${ws}/wedged/w${i}`);
      tried.push({ attempts: String(headers["x-mesh-attempts"]), ms: Date.now() - started });
      const reply = nextMessage(socket);
      socket.send(`w${i}`);
      expect(await reply).toBe(`b:w${i}`);
      socket.close(1000);
    }
    // One of the first two went to the wedged instance first: it waited out the 500 ms timeout, then opened on b.
    const failedOver = tried.filter((t) => t.attempts === "2");
    expect(failedOver.length).toBeGreaterThanOrEqual(1);
    for (const t of failedOver) expect(t.ms).toBeGreaterThanOrEqual(450);
  });

  it("proxies a WebSocket: messages both ways, the close code and reason to the origin, and the mesh's headers on the 101", async () => {
    const { socket, headers } = await openSocket(`${ws}/chat/room?x=1`, { "x-client": "kept", "x-mesh-instance": "forged" });
    expect(headers["x-mesh-attempts"]).toBe("1");
    expect(typeof headers["x-mesh-instance"]).toBe("string");
    expect(headers["x-mesh-instance"]).not.toBe("forged");
    const replies: string[] = [];
    for (const m of ["hello", "again"]) {
      const reply = nextMessage(socket);
      socket.send(m);
      replies.push(await reply);
    }
    expect(replies).toEqual(["a:hello", "a:again"]);
    const ended = closed(socket);
    socket.close(4001, "done here");
    expect(await ended).toEqual({ code: 4001, reason: "done here" });
    await expect.poll(() => a.closes).toContainEqual({ code: 4001, reason: "done here" });
    // What the origin was asked: the upgrade, the client's end-to-end headers, the mesh's forwarding facts.
    const asked = a.upgrades.at(-1);
    expect(asked?.upgrade).toBe("websocket");
    expect(asked?.connection?.toLowerCase()).toBe("upgrade");
    expect(asked?.["x-client"]).toBe("kept");
    expect(asked?.["x-mesh-instance"]).toBeUndefined();
    expect(asked?.["x-forwarded-proto"]).toBe("http");
    expect(asked?.["sec-websocket-key"]).toEqual(expect.any(String));
  });

  it("carries the subprotocol the origin chose back to the client", async () => {
    const { socket } = await openSocket(`${ws}/chat/graphql`, {}, ["graphql-ws", "graphql-transport-ws"]);
    expect(socket.protocol).toBe("graphql-transport-ws");
    expect(a.upgrades.at(-1)?.["sec-websocket-protocol"]).toBe("graphql-ws,graphql-transport-ws");
    const ended = closed(socket);
    socket.close(1000);
    await ended;
  });

  it("relays a close the origin starts", async () => {
    const { socket } = await openSocket(`${ws}/chat/bye`);
    const ended = closed(socket);
    await expect.poll(() => a.sockets.has("/chat/bye")).toBe(true);
    a.sockets.get("/chat/bye")?.close(4002, "origin leaves");
    expect(await ended).toEqual({ code: 4002, reason: "origin leaves" });
  });

  it("gives an instance's concurrency slot back once the handshake is answered: an open socket does not hold it", async () => {
    const first = await openSocket(`${ws}/capped/one`);
    const second = await openSocket(`${ws}/capped/two`);
    const plain = await fetch(`${mesh.url}/capped/plain`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe("a plain");
    const reply = nextMessage(first.socket);
    first.socket.send("still open");
    expect(await reply).toBe("a:still open");
    for (const { socket } of [first, second]) socket.close(1000);
  });

  it("relays an origin's refusal of the upgrade as its answer", async () => {
    const refusal = await openSocket(`${ws}/chat/refuse`).then(
      () => null,
      (err: { status?: number; body?: string }) => err,
    );
    expect(refusal?.status).toBe(426);
    expect(refusal?.body).toBe("refused");
  });

  it.each([
    ["an h2c upgrade", { connection: "Upgrade, HTTP2-Settings, x-named", upgrade: "h2c", "http2-settings": "AAMAAABkAAQAoAAAAAIAAAAA", "x-named": "hop" }],
    ["a listed upgrade (workerd takes only Upgrade: websocket alone)", { connection: "Upgrade, x-named", upgrade: "h2c, websocket", "x-named": "hop", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }],
    ["a WebSocket upgrade without a key", { connection: "Upgrade, x-named", upgrade: "websocket", "x-named": "hop", "sec-websocket-version": "13" }],
  ])("asks the origin for no upgrade on %s: it gets a plain request, its hop-by-hop headers stripped", async (what, headers) => {
    const path = `/chat/plain-${a.plain.length}`;
    const { status, body } = await rawGet(`${mesh.url}${path}`, headers);
    expect({ what, status, body }).toEqual({ what, status: 200, body: "a plain" });
    const seen = a.plain.find((p) => p.path === path)?.headers;
    expect(seen).toBeDefined();
    expect(seen?.upgrade).toBeUndefined();
    expect(seen?.["http2-settings"]).toBeUndefined();
    expect(seen?.["x-named"]).toBeUndefined();
  });
});

/** A GET with headers fetch would refuse to send (Connection, Upgrade). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "GET", headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += String(c)));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
