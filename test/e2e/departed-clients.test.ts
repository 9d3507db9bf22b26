import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { startTokenServer, tokenJson, type TokenServer } from "../unit/security/token-server.js";
import { meshCall, rawClient, until } from "./harness.js";

/**
 * Clients that hang up before the mesh has tried an origin for them, through
 * the deployable bundle in workerd: while they wait for a slot under
 * maxConcurrentRequestsPerInstance, and while the mesh fetches the upstream
 * OAuth2 token their first try needs. workerd tells the Worker through
 * request.signal (the enable_request_signal compatibility flag). The origin
 * is a real loopback server that records every request it is sent.
 *
 * The clients hang up with a reset (RST). workerd notices a client's
 * departure from its connection; a bodiless request whose client only
 * half-closes (FIN) is not noticed while nothing is written to it (measured:
 * neither the request's cancellation nor request.signal), so a FIN would test
 * nothing here.
 */

const ADMIN = "e2e-departed-admin";
const CLIENT_SECRET = "e2e-departed-client-secret";

interface RecordingOrigin {
  url: string;
  /** Every path it was sent, in order of arrival (health checks left out). */
  paths: string[];
  /** Resolves once a request for `path` has arrived. */
  arrived(path: string): Promise<void>;
  /** Answers the requests held so far (those for paths ending in /hold). */
  release(): void;
  close(): Promise<void>;
}

async function startRecordingOrigin(): Promise<RecordingOrigin> {
  const paths: string[] = [];
  const held: ServerResponse[] = [];
  const waiters: { path: string; resolve: () => void }[] = [];
  const answer = (res: ServerResponse, path: string): void => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ path }));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    req.resume();
    if (path === "/healthz") {
      res.writeHead(200).end("ok");
      return;
    }
    paths.push(path);
    for (const w of waiters.filter((w) => w.path === path)) w.resolve();
    if (path.endsWith("/hold")) held.push(res);
    else answer(res, path);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    arrived: (path) => (paths.includes(path) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ path, resolve }))),
    release: () => {
      for (const res of held.splice(0)) answer(res, "held");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("end to end: clients that leave before their first try", () => {
  let mesh: RunningWorker;
  let origin: RecordingOrigin;
  /** The second instance of the retried service only. */
  let spare: RecordingOrigin;
  let tokens: TokenServer;

  const admin = <T>(method: string, path: string, body: unknown, token = ADMIN) => meshCall<T>(mesh.url, method, `/_mesh/v1/services/${path}`, body, token);

  async function serve(name: string, config: Record<string, unknown>): Promise<void> {
    const created = await admin<{ registrationToken: string }>("PUT", name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
    expect(created.status).toBe(201);
    const reg = await admin("POST", `${name}/instances`, { url: origin.url, ttlSeconds: 3600 }, created.body.registrationToken);
    expect(reg.status).toBe(201);
  }

  /** `switchyard_requests_total` for `service` and `outcome`, summed over instances and code classes (0 when absent). */
  async function counted(service: string, outcome: string): Promise<{ total: number; classes: string[] }> {
    const res = await fetch(`${mesh.url}/_mesh/v1/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const lines = (await res.text()).split("\n").filter((l) => l.startsWith(`switchyard_requests_total{service="${service}",`) && l.includes(`outcome="${outcome}"`));
    return {
      total: lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0),
      classes: lines.map((l) => /code_class="([^"]*)"/.exec(l)?.[1] ?? ""),
    };
  }

  beforeAll(async () => {
    [origin, spare, tokens] = await Promise.all([startRecordingOrigin(), startRecordingOrigin(), startTokenServer()]);
    mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", DEPARTED_CLIENT_SECRET: CLIENT_SECRET },
    });
    await serve("queue", { maxConcurrentRequestsPerInstance: 1, maxPendingRequests: 3 });
    // A standby that lets one request through per client, for the front service's fallback hops.
    await serve("standby", { rateLimits: [{ name: "one", key: "client_ip", ratePerSecond: 0.001, burst: 1 }] });
    await serve("front", { maxConcurrentRequestsPerInstance: 1, maxPendingRequests: 1, fallbackService: "standby" });
    await serve("authed", {
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: tokens.url, clientId: "switchyard-departed", clientSecretRef: "DEPARTED_CLIENT_SECRET" },
    });
    // Two instances, so a timed-out try has somewhere to be retried.
    const retried = await admin<{ registrationToken: string }>("PUT", "retried", { routes: { pathPrefixes: ["/retried"] }, retry: { attempts: 2, perTryTimeoutMs: 600 } });
    expect(retried.status).toBe(201);
    for (const o of [origin, spare]) {
      const reg = await admin("POST", "retried/instances", { url: o.url, ttlSeconds: 3600 }, retried.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  });

  afterAll(async () => {
    await mesh.dispose();
    await Promise.all([origin.close(), spare.close(), tokens.close()]);
  });

  it("a waiting client that hangs up leaves the queue at once: its place goes to a live client, and the origin never sees it", async () => {
    const warm = await fetch(`${mesh.url}/queue/warm`);
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();
    // The one slot, busy until released.
    const hold = fetch(`${mesh.url}/queue/hold`);
    await origin.arrived("/queue/hold");
    // Three clients take every waiting place (maxPendingRequests 3), then hang up.
    const queuedAt = Date.now();
    const departing = await Promise.all([1, 2, 3].map((i) => rawClient(mesh.url, `/queue/gone-${i}`)));
    await sleep(200);
    // Still waiting: nothing was answered (a client without a place gets 503 at once).
    expect(departing.map((c) => c.received())).toEqual(["", "", ""]);
    for (const c of departing) c.hangUp();
    await sleep(100);
    // A live client after them: it gets a waiting place only if theirs were given up.
    const live = fetch(`${mesh.url}/queue/live`);
    await sleep(150);
    origin.release();
    expect((await hold).status).toBe(200);
    const answered = await live;
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ path: "/queue/live" });
    // Past the longest a departed client could have waited (1 s): none of them reached the origin late either.
    await sleep(Math.max(0, queuedAt + 1_300 - Date.now()));
    expect(origin.paths.filter((p) => p.startsWith("/queue/"))).toEqual(["/queue/warm", "/queue/hold", "/queue/live"]);
  });

  it("a client that hangs up while its first try waits for the upstream token gets no try", async () => {
    tokens.script("hang", tokenJson("departed-token", 3600));
    const client = await rawClient(mesh.url, "/authed/gone");
    await tokens.received(1);
    client.hangUp();
    await sleep(100);
    tokens.release(tokenJson("departed-token", 3600));
    const live = await fetch(`${mesh.url}/authed/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ path: "/authed/live" });
    await sleep(200);
    expect(origin.paths.filter((p) => p.startsWith("/authed/"))).toEqual(["/authed/live"]);
  });

  it("a waiting client that hangs up is not handed to the fallback service either: it spends none of the fallback's rate limit", async () => {
    const warm = await fetch(`${mesh.url}/front/warm`);
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();
    const hold = fetch(`${mesh.url}/front/hold`);
    await origin.arrived("/front/hold");
    const client = await rawClient(mesh.url, "/front/gone");
    await sleep(200);
    expect(client.received()).toBe("");
    client.hangUp();
    await sleep(100);
    origin.release();
    expect((await hold).status).toBe(200);
    // The standby's one request for this client is still unspent.
    const direct = await fetch(`${mesh.url}/standby/direct`);
    expect(direct.status).toBe(200);
    expect(await direct.json()).toEqual({ path: "/standby/direct" });
    expect(origin.paths.filter((p) => p.startsWith("/front/") || p.startsWith("/standby/"))).toEqual(["/front/warm", "/front/hold", "/standby/direct"]);
  });

  it("a client that hangs up while its try hangs gets no retry on the other origin, and counts as client_closed", async () => {
    const warm = await fetch(`${mesh.url}/retried/warm`);
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();
    // Both origins hold this path: the first try waits until its 600 ms timeout, when a retry would go to the other.
    const client = await rawClient(mesh.url, "/retried/gone/hold");
    await Promise.race([origin.arrived("/retried/gone/hold"), spare.arrived("/retried/gone/hold")]);
    client.hangUp();
    await sleep(1_500);
    expect([...origin.paths, ...spare.paths].filter((p) => p === "/retried/gone/hold")).toHaveLength(1);
    await until("the departed request in the metrics", 10_000, async () => (await counted("retried", "client_closed")).total === 1);
    origin.release();
    spare.release();
  });

  it("counts each such request as client_closed (499), which is not an error", async () => {
    await until("the departed requests in the metrics", 10_000, async () => (await counted("queue", "client_closed")).total === 3 && (await counted("authed", "client_closed")).total === 1 && (await counted("front", "client_closed")).total === 1);
    expect((await counted("queue", "client_closed")).classes).toEqual(["4xx"]);
    expect((await counted("queue", "overloaded")).total).toBe(0);
  });
});
