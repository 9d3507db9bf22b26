import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { meshCall } from "./harness.js";

/**
 * The EDGE_RATE_LIMIT binding (wrangler.toml ships it commented out), bound
 * here as Miniflare emulates it, an exact fixed window: the deployable bundle,
 * a real origin, clients told apart by CF-Connecting-IP. Without the binding
 * nothing is counted: every other e2e file runs the bundle unbound.
 */

const ADMIN = "e2e-edge-limit-admin";
const PERMITS = 3;

describe("end to end: the Workers Rate Limiting binding as a per-location guard", () => {
  let mesh: RunningWorker;
  let origin: Origin | undefined;

  beforeAll(async () => {
    [origin] = await startOrigins(1, "edge");
    mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
      miniflare: { ratelimits: { EDGE_RATE_LIMIT: { simple: { limit: PERMITS, period: 60 } } } },
    });
    for (const name of ["left", "right"]) {
      const created = await meshCall<{ registrationToken: string }>(mesh.url, "PUT", `/_mesh/v1/services/${name}`, { routes: { pathPrefixes: [`/${name}`] } }, ADMIN);
      expect(created.status).toBe(201);
      const reg = await meshCall(mesh.url, "POST", `/_mesh/v1/services/${name}/instances`, { url: origin?.url }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  });

  afterAll(async () => {
    await mesh.dispose();
    await origin?.stop();
  });

  const get = async (path: string, ip: string) => {
    const res = await fetch(`${mesh.url}${path}`, { headers: { "cf-connecting-ip": ip } });
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as Record<string, unknown> };
  };

  it("spends one permit per request of a client IP across services, then answers 429 naming the binding; another IP is not touched", async () => {
    const served = origin?.served ?? 0;
    const answers = [];
    for (const path of ["/left/a", "/right/b", "/left/c", "/right/d", "/left/e"]) answers.push(await get(path, "198.51.100.7"));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    // EDGE_RATE_LIMIT_PERIOD unset: the shipped example's 60 s period, the longest a client can have to wait.
    expect(answers[3]?.retryAfter).toBe("60");
    expect(answers[3]?.body).toMatchObject({ error: "rate_limited", limit: "EDGE_RATE_LIMIT" });
    expect(String(answers[3]?.body.message)).toContain("retry after 60 s");
    // The refused ones never reached the origin.
    expect((origin?.served ?? 0) - served).toBe(PERMITS);
    expect((await get("/left/f", "203.0.113.9")).status).toBe(200);
  });

  it("counts an IPv6 client by its /64: fresh addresses of one network share its permits, the next network has its own", async () => {
    const statuses = [];
    for (const ip of ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:DB8:5:6:ffff::3", "2001:db8:5:6:0:0:0:4"]) statuses.push((await get("/left/v6", ip)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await get("/left/v6", "2001:db8:5:7::1")).status).toBe(200);
  });

  it("does not count the control-plane API", async () => {
    for (let i = 0; i < PERMITS + 2; i++) {
      const res = await fetch(`${mesh.url}/_mesh/v1/healthz`, { headers: { "cf-connecting-ip": "192.0.2.44" } });
      expect(res.status).toBe(200);
    }
    expect((await get("/left/g", "192.0.2.44")).status).toBe(200);
  });
});

describe("end to end: EDGE_RATE_LIMIT_PERIOD sets the binding's Retry-After", () => {
  let origin: Origin | undefined;
  beforeAll(async () => {
    [origin] = await startOrigins(1, "edge-period");
  });
  afterAll(async () => {
    await origin?.stop();
  });

  // "30" is no period the binding allows, nor "toString" (a name every object has): the mesh logs it and keeps the safe 60.
  it.each([
    ["10", 10, "10"],
    ["30", 60, "60"],
    ["toString", 60, "60"],
  ])("EDGE_RATE_LIMIT_PERIOD=%s (a %i s block) answers Retry-After: %s", async (period, blockPeriod, expected) => {
    const mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", EDGE_RATE_LIMIT_PERIOD: period },
      miniflare: { ratelimits: { EDGE_RATE_LIMIT: { simple: { limit: 1, period: blockPeriod } } } },
    });
    try {
      const created = await meshCall<{ registrationToken: string }>(mesh.url, "PUT", "/_mesh/v1/services/p", { routes: { pathPrefixes: ["/p"] } }, ADMIN);
      expect(created.status).toBe(201);
      expect((await meshCall(mesh.url, "POST", "/_mesh/v1/services/p/instances", { url: origin?.url }, created.body.registrationToken)).status).toBe(201);
      const headers = { "cf-connecting-ip": "198.51.100.70" };
      expect((await fetch(`${mesh.url}/p/a`, { headers })).status).toBe(200);
      const refused = await fetch(`${mesh.url}/p/b`, { headers });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe(expected);
      expect(((await refused.json()) as { message: string }).message).toContain(`retry after ${expected} s`);
    } finally {
      await mesh.dispose();
    }
  });
});
