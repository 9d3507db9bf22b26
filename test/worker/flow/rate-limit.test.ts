import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { hashString } from "../../../src/core/balance/hash/hash.js";
import { GLOBAL_SHARDS } from "../../../src/edge/admit/global-limit.js";
import type { RateLimiter } from "../../../src/limiter/rate-limiter.js";
import { ADMIN, createService, type Echo, json, mesh, originUrls, register, serviceWith, stubFor, uniqueName } from "../helpers.js";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function from(ip: string, extra: Record<string, string> = {}): RequestInit {
  return { headers: { "cf-connecting-ip": ip, ...extra } };
}

/** The limiter object a global limit's key lives in, named as src/edge/admit/global-limit.ts names it. */
function limiterFor(service: string, limit: string, key: string): DurableObjectStub<RateLimiter> {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`${service}:${hashString(key) % GLOBAL_SHARDS}:${limit}`));
}

async function statuses(path: string, n: number, init: RequestInit): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await mesh(path, init);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe("rate limits: isolate scope", () => {
  it("answers 429 rate_limited with Retry-After, RateLimit-Policy and RateLimit once a key's burst is spent; other keys pass", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { name } = await serviceWith(1, { rateLimits: [{ name: "per-ip", key: "client_ip", ratePerSecond: 1, burst: 3 }] });
    expect(await statuses(`/${name}/x`, 3, from("203.0.113.1"))).toEqual([200, 200, 200]);

    const refused = await mesh(`/${name}/x`, from("203.0.113.1"));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: "rate_limited", limit: "per-ip", message: "rate limit 'per-ip' exceeded; retry after 1 s" });
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("ratelimit-policy")).toBe('"per-ip";q=1;w=1');
    expect(refused.headers.get("ratelimit")).toBe('"per-ip";r=0;t=1');
    // No origin was tried.
    expect(refused.headers.get("x-mesh-instance")).toBeNull();

    expect((await mesh(`/${name}/x`, from("203.0.113.2"))).status).toBe(200);
    // One token a second: a second later exactly one more request of the first client passes.
    vi.setSystemTime(Date.now() + 1_000);
    expect(await statuses(`/${name}/x`, 2, from("203.0.113.1"))).toEqual([200, 429]);
  });

  it("counts only the requests its match names (methods, path prefix on segment boundaries)", async () => {
    const name = uniqueName("rl");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      rateLimits: [{ name: "writes", key: "service", ratePerSecond: 0.01, burst: 1, match: { pathPrefix: `/${name}/orders`, methods: ["POST"] } }],
    });
    await register(name, token, originUrls()[0] ?? "");
    const post = (path: string): Promise<Response> => mesh(`/${name}${path}`, { method: "POST", body: "x", headers: { "content-length": "1" } });
    expect(await statuses(`/${name}/orders`, 3, {})).toEqual([200, 200, 200]);
    expect((await post("/ordersx")).status).toBe(200);
    expect((await post("/other")).status).toBe(200);
    expect((await post("/orders/1")).status).toBe(200);
    const second = await post("/orders");
    expect(second.status).toBe(429);
    // 0.01/s: the draft's policy is one request per 100 s, and the next token is 100 s away.
    expect(second.headers.get("ratelimit-policy")).toBe('"writes";q=1;w=100');
    expect(second.headers.get("retry-after")).toBe("100");
    expect((await post("/ordersx")).status).toBe(200);
  });

  it("counts a request whose path escapes the limit's prefix with percent-encodings, and matches a prefix the URL parser encodes", async () => {
    const name = uniqueName("rl");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      rateLimits: [
        { name: "login", key: "service", ratePerSecond: 0.01, burst: 1, match: { pathPrefix: `/${name}/login` } },
        { name: "menu", key: "service", ratePerSecond: 0.01, burst: 1, match: { pathPrefix: `/${name}/café` } },
      ],
    });
    await register(name, token, originUrls()[0] ?? "");
    expect(await statuses(`/${name}/login`, 1, {})).toEqual([200]);
    // The origin decodes %6C to "l" and serves /login: an escape was a way around the limit.
    expect(await statuses(`/${name}/%6Cogin`, 1, {})).toEqual([429]);
    expect(await statuses(`/${name}/log%69n/x`, 1, {})).toEqual([429]);
    // /café reaches the Worker as /caf%C3%A9; the limit as written never applied.
    expect(await statuses(`/${name}/café/1`, 2, {})).toEqual([200, 429]);
    expect(await statuses(`/${name}/caf%c3%a9`, 1, {})).toEqual([429]);
  });

  it("keys a header limit by client IP when the header is missing, so leaving it out does not escape the limit", async () => {
    const { name } = await serviceWith(1, { rateLimits: [{ name: "tenant", key: { header: "x-tenant" }, ratePerSecond: 0.01, burst: 1 }] });
    expect(await statuses(`/${name}/a`, 2, from("198.51.100.1", { "x-tenant": "acme" }))).toEqual([200, 429]);
    expect(await statuses(`/${name}/a`, 2, from("198.51.100.1", { "x-tenant": "other" }))).toEqual([200, 429]);
    expect(await statuses(`/${name}/a`, 2, from("198.51.100.1"))).toEqual([200, 429]);
    expect(await statuses(`/${name}/a`, 1, from("198.51.100.2"))).toEqual([200]);
  });

  it("never reports a refused request to the coordinator, so refusals cannot eject an origin", async () => {
    const { name, ids } = await serviceWith(1, {
      rateLimits: [{ name: "tight", key: "service", ratePerSecond: 0.01, burst: 1 }],
      outlier: { consecutiveFailures: 1 },
    });
    const ctx = createExecutionContext();
    for (let i = 0; i < 5; i++) {
      const res = await worker.fetch(new Request(`http://mesh.test/${name}/a`), env, ctx);
      await res.arrayBuffer();
    }
    await waitOnExecutionContext(ctx);
    const view = await stubFor(name).describe();
    expect(view.instances.map((i) => [i.id, i.state])).toEqual([[ids[0], "healthy"]]);
  });
});

describe("rate limits: config", () => {
  it("shows the resolved limits in GET /services/{name}", async () => {
    const { name } = await serviceWith(0, { rateLimits: [{ name: "per-ip", key: "client_ip", ratePerSecond: 2.5 }] });
    const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    const body = await res.json<{ service: { config: { rateLimits: unknown } } }>();
    expect(body.service.config.rateLimits).toEqual([{ name: "per-ip", key: "client_ip", ratePerSecond: 2.5, burst: 3, scope: "isolate" }]);
  });

  it("refuses a bad limit with a 400 naming the field", async () => {
    const res = await mesh(
      `/_mesh/v1/services/${uniqueName("rl")}`,
      json("PUT", { routes: { pathPrefixes: ["/rl-bad"] }, rateLimits: [{ name: "g", key: "service", ratePerSecond: 5000, scope: "global" }] }),
    );
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; issues: { path: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues.map((i) => i.path)).toEqual(["rateLimits.0.ratePerSecond"]);
  });
});

describe("rate limits: global scope", () => {
  it("is decided by the limiter object, and a key known to be over is refused locally with no RPC", async () => {
    const { name } = await serviceWith(1, {
      rateLimits: [{ name: "tenant", key: { header: "x-tenant" }, ratePerSecond: 0.5, burst: 2, scope: "global" }],
    });
    const limiter = limiterFor(name, "tenant", "=acme");
    const before = await limiter.stats();
    const got = await statuses(`/${name}/a`, 10, from("192.0.2.1", { "x-tenant": "acme" }));
    expect(got).toEqual([200, 200, 429, 429, 429, 429, 429, 429, 429, 429]);
    const after = await limiter.stats();
    // Two RPCs for ten requests: the second answer said "that was the last token", and the
    // isolate refused the other eight from its deny cache.
    expect(after.takes - before.takes).toBe(2);
    expect(after.refused - before.refused).toBe(0);
  });

  it("asks once for requests that arrive together: the ones queued behind the take that spent the last token get no RPC", async () => {
    const { name } = await serviceWith(1, {
      rateLimits: [{ name: "together", key: { header: "x-tenant" }, ratePerSecond: 0.01, burst: 1, scope: "global" }],
    });
    const limiter = limiterFor(name, "together", "=t9");
    const before = await limiter.stats();
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await mesh(`/${name}/a`, from("192.0.2.9", { "x-tenant": "t9" }));
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(answers.filter((s) => s === 200)).toHaveLength(1);
    expect(answers.filter((s) => s === 429)).toHaveLength(9);
    const after = await limiter.stats();
    expect(after.takes - before.takes).toBe(1);
  });

  it("is exact across callers: tokens another isolate took at the object are gone for this one", async () => {
    const { name } = await serviceWith(1, {
      rateLimits: [{ name: "shared", key: { header: "x-tenant" }, ratePerSecond: 0.01, burst: 3, scope: "global" }],
    });
    const limiter = limiterFor(name, "shared", "=t1");
    const rule = { ratePerSecond: 0.01, burst: 3 };
    // Another isolate (anywhere) spends two of the three tokens.
    expect((await limiter.take("=t1", rule)).allowed).toBe(true);
    expect((await limiter.take("=t1", rule)).allowed).toBe(true);
    const before = await limiter.stats();
    const got = await statuses(`/${name}/a`, 3, from("192.0.2.2", { "x-tenant": "t1" }));
    expect(got).toEqual([200, 429, 429]);
    const after = await limiter.stats();
    // One RPC: it took the last token and learned when the next comes; the rest were refused locally.
    expect(after.takes - before.takes).toBe(1);
    const refused = await mesh(`/${name}/a`, from("192.0.2.2", { "x-tenant": "t1" }));
    expect(refused.headers.get("ratelimit")).toMatch(/^"shared";r=0;t=(99|100)$/);
    expect(await refused.json<{ limit: string }>()).toMatchObject({ error: "rate_limited", limit: "shared" });
  });

  it("admits exactly burst + rate × t across two interleaved callers, by the object's arithmetic", async () => {
    const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(uniqueName("exact")));
    const rule = { ratePerSecond: 10, burst: 5 };
    const t0 = 1_700_000_000_000;
    let admitted = 0;
    // Two callers, each sending 40 requests a second for 2 s (8× the rate), interleaved.
    for (let ms = 0; ms < 2_000; ms += 25) {
      for (const caller of ["isolate-a", "isolate-b"]) {
        const answer = await limiter.take("=k", rule, t0 + ms + (caller === "isolate-b" ? 12 : 0));
        if (answer.allowed) admitted++;
      }
    }
    // 5 at once, then one per 100 ms over 2 s (the last request comes at 1,987 ms: 19 more).
    expect(admitted).toBe(5 + 19);
  });

  it("fails open when the limiter cannot be reached, and logs it", async () => {
    const { name } = await serviceWith(1, {
      rateLimits: [{ name: "down", key: "service", ratePerSecond: 0.01, burst: 1, scope: "global" }],
    });
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    // A namespace whose objects are not limiters (the coordinators): every take fails.
    const broken = { ...env, RATE_LIMITER: env.SERVICES as unknown as Env["RATE_LIMITER"] };
    for (let i = 0; i < 3; i++) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://mesh.test/${name}/a`), broken, ctx);
      expect(res.status).toBe(200);
      expect((await res.json<Echo>()).path).toBe(`/${name}/a`);
      await waitOnExecutionContext(ctx);
    }
    const lines = errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("rate_limiter_unavailable"));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ event: "rate_limiter_unavailable", service: name, limit: "down" });
  });

  it("fails open only the limit whose limiter failed: another service's global limit still refuses", { timeout: 20_000 }, async () => {
    const { name: failing } = await serviceWith(1, {
      rateLimits: [{ name: "down", key: "service", ratePerSecond: 0.01, burst: 1, scope: "global" }],
    });
    const { name: healthy } = await serviceWith(1, {
      rateLimits: [{ name: "up", key: { header: "x-tenant" }, ratePerSecond: 0.01, burst: 1, scope: "global" }],
    });
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    // Both through this module's handler, so they share one isolate's limiter state. Each call's
    // background work is waited for at the end: it outlasts the second of failing open.
    const contexts: ExecutionContext[] = [];
    const call = async (path: string, bindings: Env, init: RequestInit = {}): Promise<number> => {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const res = await worker.fetch(new Request(`http://mesh.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>, bindings, ctx);
      await res.arrayBuffer();
      return res.status;
    };
    // Routes and snapshots loaded first, so the calls below fit in the second of failing open.
    expect(await call(`/${healthy}/warm`, env, from("192.0.2.3", { "x-tenant": "warm" }))).toBe(200);
    const broken = { ...env, RATE_LIMITER: env.SERVICES as unknown as Env["RATE_LIMITER"] };
    expect(await call(`/${failing}/a`, broken)).toBe(200);
    // Within the failed limit's second of failing open: the other service's limiter answers, and is obeyed.
    const tenant = from("192.0.2.3", { "x-tenant": "t3" });
    const got = [await call(`/${healthy}/a`, env, tenant), await call(`/${healthy}/a`, env, tenant), await call(`/${healthy}/a`, env, tenant)];
    for (const ctx of contexts) await waitOnExecutionContext(ctx);
    expect(got).toEqual([200, 429, 429]);
  });
});
