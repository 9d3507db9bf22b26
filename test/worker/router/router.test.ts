import { env } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { api } from "../../../src/api/app.js";
import { invalidateRouteCache } from "../../../src/edge/cache/route-cache.js";
import { ROUTE_VERSION_KEY } from "../../../src/registry/route-shards.js";
import { control, createService, type Echo, json, mesh, originUrls, register, resetOrigins, stubFor, uniqueName, serviceWith } from "../helpers.js";

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

/**
 * Calls the Worker with an ExecutionContext we can wait on, so batched reports
 * land before assertions; `overrides` replaces bindings for this call only.
 */
async function call(url: string, init: RequestInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, init) as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides }, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

describe("edge router", () => {
  it("404s an unrouted request with no_route", async () => {
    const res = await mesh("/nothing-here/at-all");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "no_route" });
  });

  it("spreads GETs evenly and proxies method, path, query, body and headers", async () => {
    const { name } = await serviceWith(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const res = await mesh(`/${name}/items/7?x=1&y=2`);
      expect(res.status).toBe(200);
      const echo = await res.json<Echo>();
      counts.set(echo.origin, (counts.get(echo.origin) ?? 0) + 1);
      expect(res.headers.get("x-mesh-attempts")).toBe("1");
      expect(res.headers.get("x-mesh-instance")).toMatch(/^[a-f0-9]{16}$/);
    }
    expect([...counts.values()]).toEqual([10, 10, 10]);

    const post = await mesh(`/${name}/orders?z=9`, {
      method: "POST",
      headers: {
        "content-type": "text/plain",
        "x-custom": "kept",
        connection: "keep-alive, x-drop-me",
        "x-drop-me": "gone",
        "x-mesh-instance": "forged",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-host": "evil.example",
        forwarded: 'for=203.0.113.9;host="evil.example";proto=https',
        "cf-connecting-ip": "198.51.100.7",
      },
      body: "hello",
    });
    const echo = await post.json<Echo>();
    expect(echo).toMatchObject({ method: "POST", path: `/${name}/orders`, query: "?z=9", body: "hello" });
    expect(echo.headers["x-custom"]).toBe("kept");
    expect(echo.headers["x-drop-me"]).toBeUndefined();
    expect(echo.headers["x-mesh-instance"]).toBeUndefined();
    expect(echo.headers["x-forwarded-for"]).toBe("203.0.113.9, 198.51.100.7");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-forwarded-host"]).toBe("mesh.test");
    // The client's RFC 7239 header would tell an origin that reads it first another host and scheme.
    expect(echo.headers.forwarded).toBeUndefined();
  });

  it("strips the prefix when asked and routes by host before prefix", async () => {
    const name = uniqueName("rt");
    const { token } = await createService(name, {
      routes: { hosts: [`${name}.example.com`], pathPrefixes: ["/api"], stripPrefix: true },
    });
    await register(name, token, originUrls()[0] ?? "");
    const res = await mesh(`http://${name}.example.com/api/users/1`);
    expect((await res.json<Echo>()).path).toBe("/users/1");
    expect((await mesh(`http://other.example.com/api/users/1`)).status).toBe(404);
  });

  it("fails over on a retryable status to a different instance and reports both tries", async () => {
    const { name, ids } = await serviceWith(2, { retry: { attempts: 2, retryOn: ["503"] } });
    const [a = "", b = ""] = originUrls();
    await control(a, { status: 503 });
    for (let i = 0; i < 4; i++) {
      const res = await call(`http://mesh.test/${name}/x`);
      expect(res.status).toBe(200);
      expect((await res.json<Echo>()).origin).toBe("wt-2");
    }
    const stub = stubFor(name);
    const view = await stub.describe();
    const failing = view.instances.find((i) => i.url === a);
    expect(failing?.failures).toBeGreaterThanOrEqual(2);
    expect(view.instances.find((i) => i.url === b)?.failures).toBe(0);
    expect(ids).toHaveLength(2);
  });

  it("does not resend a POST after a 503, and answers with the origin's status when tries run out", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 3, retryOn: ["503"] } });
    await Promise.all(originUrls().slice(0, 2).map((u) => control(u, { status: 503 })));
    const post = await call(`http://mesh.test/${name}/pay`, { method: "POST", body: "x", headers: { "content-length": "1" } });
    expect(post.status).toBe(503);
    expect(post.headers.get("x-mesh-attempts")).toBe("1");
    const get = await call(`http://mesh.test/${name}/pay`);
    expect(get.status).toBe(503);
    expect(get.headers.get("x-mesh-attempts")).toBe("2");
  });

  it("answers 503 no_healthy_instance with Retry-After when nothing is routable", async () => {
    const { name } = await serviceWith(0);
    const res = await mesh(`/${name}/x`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toMatchObject({ error: "no_healthy_instance" });
  });

  it("times out a hung try and retries elsewhere", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 2, perTryTimeoutMs: 300, retryOn: ["timeout"] } });
    await control(originUrls()[0] ?? "", { delayMs: 2_000 });
    for (let i = 0; i < 2; i++) {
      const res = await call(`http://mesh.test/${name}/slow`);
      expect(res.status).toBe(200);
      expect((await res.json<Echo>()).origin).toBe("wt-2");
    }
  });

  it("refuses a private origin when ALLOW_PRIVATE_ORIGINS is not true", async () => {
    const name = uniqueName("rt");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const ctx = createExecutionContext();
    const res = await api.fetch(
      new Request(`http://mesh.test/_mesh/v1/services/${name}/instances`, json("POST", { url: "http://127.0.0.1:8080" }, { authorization: `Bearer ${token}` })),
      { ...env, ALLOW_PRIVATE_ORIGINS: "false" },
      ctx,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "origin_not_allowed", issues: [{ path: "url" }] });
  });

  it("logs exactly one structured JSON line per proxied request", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 2, retryOn: ["503"] } });
    await control(originUrls()[0] ?? "", { status: 503 });
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      for (let i = 0; i < 2; i++) await call(`http://mesh.test/${name}/logged?secret=1`, {}, { REQUEST_LOG: "json" });
    } finally {
      spy.mockRestore();
    }
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === "request");
    expect(events).toHaveLength(2);
    const failedOver = events.find((e) => e.attempts === 2);
    expect(failedOver).toMatchObject({
      service: name,
      method: "GET",
      path: `/${name}/logged`,
      status: 200,
      outcome: "failed_over",
      failures: ["503"],
      mode: "snapshot",
    });
    expect(JSON.stringify(events)).not.toContain("secret=1");
    expect(typeof failedOver?.latencyMs).toBe("number");
  });

  it("resends a buffered PUT body to the next instance", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 2, retryOn: ["503"] } });
    await control(originUrls()[0] ?? "", { status: 503 });
    for (let i = 0; i < 2; i++) {
      const res = await call(`http://mesh.test/${name}/doc`, { method: "PUT", body: `payload-${i}`, headers: { "content-length": "9" } });
      expect(res.status).toBe(200);
      expect((await res.json<Echo>()).body).toBe(`payload-${i}`);
    }
  });

  it("routes every pick through the coordinator in strict mode", async () => {
    const { name } = await serviceWith(3, { routing: { mode: "strict" } });
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await (await mesh(`/${name}/s`)).json<Echo>()).origin);
    expect(new Set(seen.slice(0, 3)).size).toBe(3);
    expect(seen.slice(3)).toEqual(seen.slice(0, 3));
  });

  it("answers 503 when every instance is unhealthy, and routes to all of them under a panic rule", async () => {
    for (const panic of [false, true]) {
      const { name, ids } = await serviceWith(2, {
        panic: { routeToAllWhenNoneHealthy: panic },
        outlier: { consecutiveFailures: 1, baseEjectionSeconds: 60, maxEjectionSeconds: 60 },
        healthCheck: { unhealthyThreshold: 1 },
      });
      const stub = stubFor(name);
      // Fail both instances' active checks: one alarm round with the origins reporting unhealthy.
      await Promise.all(originUrls().slice(0, 2).map((u) => control(u, { healthy: false })));
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 11_000);
      await runDurableObjectAlarm(stub);
      const view = await stub.describe();
      expect(view.instances.map((i) => i.state)).toEqual(["unhealthy", "unhealthy"]);
      const res = await call(`http://mesh.test/${name}/p`);
      if (panic) {
        expect(res.status).toBe(200);
        expect(ids).toContain(res.headers.get("x-mesh-instance"));
      } else {
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ error: "no_healthy_instance", message: expect.stringContaining("unhealthy") as unknown });
      }
      vi.useRealTimers();
      await Promise.all(originUrls().slice(0, 2).map((u) => control(u, { healthy: true })));
    }
  });

  it("routes from the KV mirror when the coordinator cannot be reached", async () => {
    const { name } = await serviceWith(2);
    // The one stand-in in these tests: an unreachable Durable Object cannot be produced by the runtime on demand.
    const unreachable = {
      idFromName: (n: string) => env.SERVICES.idFromName(n),
      get: () => ({
        snapshot: () => Promise.reject(new Error("Durable Object unreachable")),
        report: () => Promise.reject(new Error("Durable Object unreachable")),
      }),
    } as unknown as Env["SERVICES"];
    const res = await call(`http://mesh.test/${name}/fallback`, {}, { SERVICES: unreachable });
    expect(res.status).toBe(200);
    expect((await res.json<Echo>()).path).toBe(`/${name}/fallback`);
  });

  it("answers with the origin's status when every strict-mode try fails (no crash on a cancelled body)", async () => {
    const { name } = await serviceWith(2, { routing: { mode: "strict" }, retry: { attempts: 3, retryOn: ["503"] } });
    await Promise.all(originUrls().slice(0, 2).map((u) => control(u, { status: 503 })));
    const res = await mesh(`/${name}/all-down`);
    expect(res.status).toBe(503);
    expect(res.headers.get("x-mesh-attempts")).toBe("2");
    expect((await res.json<Echo>()).origin).toMatch(/^wt-/);
  });

  it("sends new requests elsewhere while a try to a stalled instance waits, before it times out", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 2, perTryTimeoutMs: 800, retryOn: ["timeout"] } });
    expect((await mesh(`/${name}/warm`)).status).toBe(200);
    await control(originUrls()[0] ?? "", { delayMs: 3_000 });
    // Two requests in flight: round-robin puts one of them on the stalled origin.
    const inFlight = [mesh(`/${name}/a`), mesh(`/${name}/b`)];
    // Past a quarter of the per-try timeout (200 ms), the stalled instance is avoided.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 4; i++) {
      const res = await mesh(`/${name}/c`);
      expect(res.headers.get("x-mesh-attempts")).toBe("1");
      expect((await res.json<Echo>()).origin).toBe("wt-2");
    }
    const first = await Promise.all(inFlight);
    expect(first.map((r) => r.status)).toEqual([200, 200]);
    await Promise.all(first.map((r) => r.arrayBuffer()));
  });

  it("answers 400 client_error, blaming no origin, when the client's body fails mid-read", async () => {
    const { name } = await serviceWith(2);
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("client went away"));
      },
    });
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    let res: Response;
    try {
      res = await call(`http://mesh.test/${name}/upload`, { method: "POST", body: broken, headers: { "content-length": "5" } }, { REQUEST_LOG: "json" });
    } finally {
      spy.mockRestore();
    }
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "client_error", message: "could not read the request body" });
    const event = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "request");
    expect(event).toMatchObject({ service: name, status: 400, outcome: "client_error", attempts: 0, tried: [] });
    // No try was made, so nothing was reported against an instance.
    const view = await stubFor(name).describe();
    expect(view.instances.map((i) => i.failures)).toEqual([0, 0]);
  });

  it("answers 500 mesh_error with a reference that the error log carries with the stack", async () => {
    // A real internal failure: a corrupt route index version key in the real KV makes the route stage throw.
    const saved = await env.REGISTRY.get(ROUTE_VERSION_KEY, "text");
    await env.REGISTRY.put(ROUTE_VERSION_KEY, "{corrupt");
    invalidateRouteCache();
    const errors: string[] = [];
    const logs: string[] = [];
    const errorSpy = vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    const logSpy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      logs.push(String(line));
    });
    let res: Response;
    try {
      res = await call("http://mesh.test/anything/at-all", {}, { REQUEST_LOG: "json" });
    } finally {
      errorSpy.mockRestore();
      logSpy.mockRestore();
      if (saved === null) await env.REGISTRY.delete(ROUTE_VERSION_KEY);
      else await env.REGISTRY.put(ROUTE_VERSION_KEY, saved);
      invalidateRouteCache();
    }
    expect(res.status).toBe(500);
    const text = await res.text();
    const body = JSON.parse(text) as { error: string; message: string; reference: string };
    expect(body.error).toBe("mesh_error");
    expect(body.reference).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.message).toContain(`reference ${body.reference}`);
    expect(Object.keys(body).sort()).toEqual(["error", "message", "reference"]);
    expect(text).not.toMatch(/\bat .*:\d+/);
    const logged = errors.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "router_error");
    expect(logged).toMatchObject({ reference: body.reference });
    expect(String(logged?.stack)).toContain("SyntaxError");
    const event = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "request");
    expect(event).toMatchObject({ status: 500, outcome: "mesh_error", service: null });
    // The mesh recovers once the index is sound again.
    expect((await mesh("/nothing-here/at-all")).status).toBe(404);
  });
});
