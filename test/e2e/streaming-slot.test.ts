import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { meshCall, rawClient, until } from "./harness.js";

/**
 * maxConcurrentRequestsPerInstance counts a request until its answer's body
 * has been relayed in full (docs/api.md, "Flow control"), as Envoy's
 * max_requests, HAProxy's maxconn and nginx's max_conns do: a slow or endless
 * body is what loads an origin most. Through the deployable bundle in
 * workerd, against real loopback origins whose answers stream, and with
 * every way a body can end: done, the origin's reset or silence, the client
 * hanging up mid-body or before the headers, no body at all, and a failed
 * answer dropped for a retry. Each must give the slot back, or the instance
 * is shut out of the isolate for good.
 */

const ADMIN = "e2e-streaming-slot-admin";
/** The gap between the chunks of a streamed answer: the headers come with the first chunk, the body ends 600 ms later. */
const CHUNK_GAP_MS = 300;
/** retry.bodyIdleTimeoutMs of the services: longer than a chunk gap, short enough for the silent origin's test. */
const BODY_IDLE_MS = 1_000;

interface StreamingOrigin {
  url: string;
  /** Every path it was sent, in order of arrival (health checks left out). */
  paths: string[];
  /** Resolves once the answer to a request for `path` has been closed (ended, or its connection gone). */
  closed(path: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * An origin that streams. By the last segment of the path:
 * `stream` three chunks CHUNK_GAP_MS apart (unsized); `endless` a chunk every
 * 100 ms until its client goes; `late` the same after 400 ms without headers;
 * `reset` one chunk, then the connection is cut; `silent` one chunk, then
 * nothing; `empty` 204; `flaky` a streamed 503 to the first such request any
 * origin sharing `flakySeen` gets, then a streamed 200; anything else a small
 * sized JSON answer (which the mesh reads whole).
 */
async function startStreamingOrigin(flakySeen: { count: number }): Promise<StreamingOrigin> {
  const paths: string[] = [];
  const done = new Set<string>();
  const waiters: { path: string; resolve: () => void }[] = [];
  const finished = (path: string): void => {
    done.add(path);
    for (const w of waiters.filter((w) => w.path === path)) w.resolve();
  };
  const drip = (res: ServerResponse, chunks: number, every: number): void => {
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return;
      res.write(`chunk-${++sent};`);
      if (sent === chunks) {
        clearInterval(timer);
        res.end();
      }
    }, every);
    res.on("close", () => clearInterval(timer));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    req.resume();
    if (path === "/healthz") {
      res.writeHead(200).end("ok");
      return;
    }
    paths.push(path);
    res.on("close", () => finished(path));
    const kind = path.slice(path.lastIndexOf("/") + 1);
    const streamed = { "content-type": "text/plain" };
    switch (kind) {
      case "stream":
        res.writeHead(200, streamed);
        res.write("chunk-0;");
        drip(res, 2, CHUNK_GAP_MS);
        return;
      case "slow-stream":
        res.writeHead(200, streamed);
        res.write("chunk-0;");
        drip(res, 2, 1_000);
        return;
      case "endless":
        res.writeHead(200, streamed);
        res.write("chunk-0;");
        drip(res, Number.POSITIVE_INFINITY, 100);
        return;
      case "late":
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(200, streamed);
          res.write("chunk-0;");
          drip(res, Number.POSITIVE_INFINITY, 100);
        }, 400);
        return;
      case "reset":
        res.writeHead(200, streamed);
        res.write("chunk-0;");
        setTimeout(() => res.socket?.destroy(), 100);
        return;
      case "silent":
        res.writeHead(200, streamed);
        res.write("chunk-0;");
        return;
      case "empty":
        res.writeHead(204).end();
        return;
      case "flaky":
        res.writeHead(flakySeen.count++ === 0 ? 503 : 200, streamed);
        res.write("chunk-0;");
        drip(res, 1, 100);
        return;
      default:
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ path }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    closed: (path) => (done.has(path) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ path, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a failure naming `what` once `ms` have passed without it. */
async function within(what: string, ms: number, promise: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("end to end: a streaming answer holds its concurrency slot until its body is relayed", () => {
  let mesh: RunningWorker;
  let origin: StreamingOrigin;
  let second: StreamingOrigin;
  const flakySeen = { count: 0 };

  const admin = <T>(method: string, path: string, body: unknown, token = ADMIN) => meshCall<T>(mesh.url, method, `/_mesh/v1/services/${path}`, body, token);

  /**
   * A service capped at one request per instance, with no waiting place, on `origins`. The answers here
   * are streams on purpose, so by default they are relayed from their first chunk (readAheadMs 0):
   * read ahead, a short one would be complete before its headers go out.
   */
  async function serve(name: string, origins: StreamingOrigin[], readAheadMs = 0): Promise<void> {
    const created = await admin<{ registrationToken: string }>("PUT", name, {
      routes: { pathPrefixes: [`/${name}`] },
      maxConcurrentRequestsPerInstance: 1,
      maxPendingRequests: 0,
      retry: { bodyIdleTimeoutMs: BODY_IDLE_MS, readAheadMs },
      // The origins' broken bodies here are on purpose: they must not get the instance ejected.
      outlier: { consecutiveFailures: 1000 },
    });
    expect(created.status).toBe(201);
    for (const o of origins) {
      const reg = await admin("POST", `${name}/instances`, { url: o.url, ttlSeconds: 3600 }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
    // Loads the isolate's snapshot of the service, so the tests' requests are served from it at once.
    const warm = await fetch(`${mesh.url}/${name}/warm`);
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();
  }

  /**
   * A GET or HEAD to the mesh. After an answer whose body broke, workerd closes that client connection, and
   * Node's pool may hand the next request the dead socket (ECONNRESET, or "other side closed", before the mesh
   * read it): that is the client's connection, not the mesh's answer, so the request is sent again, on a new
   * one. Only idempotent requests go through here: sending one twice cannot change what a test checks.
   */
  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(`${mesh.url}${path}`, init);
      } catch (err) {
        const code = err instanceof Error ? (err.cause as { code?: string } | undefined)?.code : undefined;
        if (attempt >= 3 || (code !== "ECONNRESET" && code !== "UND_ERR_SOCKET")) throw err;
      }
    }
  }

  /** The answer to one more request, read whole. */
  async function next(path: string): Promise<{ status: number; error: string | null }> {
    const res = await send(path);
    const text = await res.text();
    return { status: res.status, error: res.status === 503 ? ((JSON.parse(text) as { error?: string }).error ?? null) : null };
  }

  /** Waits until the service takes a request again (its one slot is free), within `ms`. */
  async function slotFree(service: string, ms: number): Promise<void> {
    await until(`a free slot on ${service}`, ms, async () => (await next(`/${service}/probe`)).status === 200);
  }

  beforeAll(async () => {
    [origin, second] = await Promise.all([startStreamingOrigin(flakySeen), startStreamingOrigin(flakySeen)]);
    mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
    });
    await serve("capped", [origin]);
    await serve("pair", [origin, second]);
    await serve("ahead", [origin], 5_000);
  });

  afterAll(async () => {
    await mesh.dispose();
    await Promise.all([origin.close(), second.close()]);
  });

  it("refuses a second request 503 overloaded while the first answer's body still streams, then takes the next once it has ended", async () => {
    const first = await send("/capped/stream");
    expect(first.status).toBe(200);
    // The headers are in; the body has 600 ms to go.
    const refused = await next("/capped/second");
    expect(refused).toEqual({ status: 503, error: "overloaded" });
    expect(origin.paths).not.toContain("/capped/second");
    expect(await first.text()).toBe("chunk-0;chunk-1;chunk-2;");
    // The body is done: its slot is free, without waiting for anything else.
    expect(await next("/capped/third")).toEqual({ status: 200, error: null });
  });

  it("holds the slot while an unsized answer is read ahead, and gives it back once the answer is whole", async () => {
    const pending = send("/ahead/slow-stream", { headers: { "accept-encoding": "identity" } });
    await until("the request at the origin", 3_000, () => Promise.resolve(origin.paths.includes("/ahead/slow-stream")));
    // The body has 2 s to go, and its headers are held until it is whole: the slot is taken meanwhile.
    expect(await next("/ahead/second")).toEqual({ status: 503, error: "overloaded" });
    const first = await pending;
    expect(first.status).toBe(200);
    expect(first.headers.get("content-length")).toBe(String("chunk-0;chunk-1;chunk-2;".length));
    expect(await first.text()).toBe("chunk-0;chunk-1;chunk-2;");
    expect(await next("/ahead/third")).toEqual({ status: 200, error: null });
  });

  it("gives the slot back when the client hangs up mid-body, and lets the origin go", async () => {
    const client = await rawClient(mesh.url, "/capped/gone/endless");
    await until("the first chunk", 3_000, () => Promise.resolve(client.received().includes("chunk-0;")));
    expect(await next("/capped/while-streaming")).toEqual({ status: 503, error: "overloaded" });
    client.hangUp();
    await slotFree("capped", 2_000);
    // The mesh stopped reading the abandoned body: the origin's answer was closed, not left streaming.
    await within("the origin's answer to be closed", 3_000, origin.closed("/capped/gone/endless"));
  });

  it("gives the slot back when the client hangs up before the headers arrive", async () => {
    const client = await rawClient(mesh.url, "/capped/early/late");
    await until("the request at the origin", 3_000, () => Promise.resolve(origin.paths.includes("/capped/early/late")));
    client.hangUp();
    // The try goes on to its headers (at 400 ms), whose body is for no one.
    await sleep(500);
    await slotFree("capped", 2_000);
  });

  it("gives the slot back when the origin cuts its body short", async () => {
    const broken = await send("/capped/cut/reset");
    expect(broken.status).toBe(200);
    // An unsized body that errors may still be ended cleanly by workerd (cloudflare/workerd#6818): what it ends with is not the point.
    await broken.text().catch(() => "");
    await slotFree("capped", 2_000);
  });

  it("gives the slot back when the origin's body goes silent for retry.bodyIdleTimeoutMs", async () => {
    const stalled = await send("/capped/stall/silent");
    expect(stalled.status).toBe(200);
    expect(await next("/capped/while-silent")).toEqual({ status: 503, error: "overloaded" });
    await stalled.text().catch(() => "");
    await slotFree("capped", 2_000);
  });

  it("holds nothing for an answer with no body: HEAD and 204", async () => {
    const head = await send("/capped/h/stream", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await next("/capped/after-head")).toEqual({ status: 200, error: null });
    const empty = await send("/capped/e/empty");
    expect(empty.status).toBe(204);
    expect(await next("/capped/after-204")).toEqual({ status: 200, error: null });
  });

  it("gives back the slot of a failed answer dropped for a retry: both instances take a stream at once afterwards", async () => {
    const retried = await send("/pair/flaky");
    expect(retried.status).toBe(200);
    expect(retried.headers.get("x-mesh-attempts")).toBe("2");
    await retried.text();
    // One slot per instance: a leaked slot on the instance that answered 503 leaves one stream refused.
    const both = await Promise.all([send("/pair/1/stream"), send("/pair/2/stream")]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    await Promise.all(both.map((r) => r.text()));
  });
});
