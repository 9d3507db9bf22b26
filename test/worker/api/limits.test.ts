import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_BODY_BYTES, MAX_CONFIG_BODY_BYTES, RATE_LIMITS } from "../../../src/api/limits.js";
import { ADMIN, createService, json, mesh, uniqueName } from "../helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

/** Sends `headers` to the health endpoint until refused (at most `max` times); returns how many passed and the refusal. */
async function untilRefused(headers: Record<string, string>, max: number): Promise<{ passed: number; refused: Response | null }> {
  for (let passed = 0; passed < max; passed++) {
    const res = await mesh("/_mesh/v1/healthz", { headers });
    if (res.status === 429) return { passed, refused: res };
    expect(res.status).toBe(200);
    await res.text();
  }
  return { passed: max, refused: null };
}

describe("control-plane rate limits", () => {
  it("refuses the admin token past its burst with 429 rate_limited and Retry-After, then refills at its rate", { timeout: 60_000 }, async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 60_000);
    const { passed, refused } = await untilRefused(ADMIN, 100);
    expect(passed).toBeLessThanOrEqual(RATE_LIMITS.admin.burst);
    expect(refused?.headers.get("retry-after")).toBe("1");
    expect(await refused?.json()).toMatchObject({ error: "rate_limited" });
    // One second refills exactly perSecond tokens.
    vi.setSystemTime(Date.now() + 1_000);
    const after = await untilRefused(ADMIN, 100);
    expect(after.passed).toBe(RATE_LIMITS.admin.perSecond);
    // Other callers have their own buckets.
    expect((await mesh("/_mesh/v1/healthz", { headers: { authorization: "Bearer sy_someone-else" } })).status).toBe(200);
    // Refilled for the tests after this one.
    vi.setSystemTime(Date.now() + 10_000);
    expect((await mesh("/_mesh/v1/services", { headers: ADMIN })).status).toBe(200);
  });

  it("limits unauthenticated callers by client IP", { timeout: 30_000 }, async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 120_000);
    const ip = { "cf-connecting-ip": "203.0.113.7" };
    const { passed, refused } = await untilRefused(ip, 100);
    expect(passed).toBe(RATE_LIMITS.clientIp.burst);
    expect(refused?.status).toBe(429);
    expect((await mesh("/_mesh/v1/healthz", { headers: { "cf-connecting-ip": "203.0.113.8" } })).status).toBe(200);
  });

  it("counts an IPv6 caller by its /64: a fresh address per request from one network is refused like one address", { timeout: 30_000 }, async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 150_000);
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMITS.clientIp.burst + 3; i++) {
      const res = await mesh("/_mesh/v1/healthz", { headers: { "cf-connecting-ip": `2001:db8:77:1:${(i + 1).toString(16)}::1` } });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses.slice(0, RATE_LIMITS.clientIp.burst).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(RATE_LIMITS.clientIp.burst).every((s) => s === 429)).toBe(true);
    // The next /64 is another client.
    expect((await mesh("/_mesh/v1/healthz", { headers: { "cf-connecting-ip": "2001:db8:77:2::1" } })).status).toBe(200);
  });

  it("charges failed authentications to the client IP, so a new made-up token per request is refused too", { timeout: 30_000 }, async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 180_000);
    const ip = "203.0.113.9";
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMITS.clientIp.burst + 5; i++) {
      const res = await mesh("/_mesh/v1/services", { headers: { authorization: `Bearer sy_guess-${i}`, "cf-connecting-ip": ip } });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses.slice(0, RATE_LIMITS.clientIp.burst).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(RATE_LIMITS.clientIp.burst).every((s) => s === 429)).toBe(true);
  });
});

describe("control-plane body limits", { timeout: 30_000 }, () => {
  async function service(): Promise<{ name: string; auth: Record<string, string> }> {
    const name = uniqueName("body");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    return { name, auth: { authorization: `Bearer ${token}` } };
  }

  function stream(bytes: number): ReadableStream<Uint8Array> {
    const chunk = new TextEncoder().encode("x".repeat(4096));
    let sent = 0;
    return new ReadableStream({
      pull(controller) {
        if (sent >= bytes) return controller.close();
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
  }

  it("413s a Content-Length over the bound before reading it", async () => {
    const { name, auth } = await service();
    const body = JSON.stringify({ url: "https://a.example.com", metadata: { pad: "x".repeat(MAX_BODY_BYTES) } });
    const res = await mesh(`/_mesh/v1/services/${name}/instances`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "payload_too_large" });
  });

  it("413s a streamed body (no Content-Length) once it passes the bound, and passes a small streamed one", async () => {
    const { name, auth } = await service();
    const big = await mesh(`/_mesh/v1/services/${name}/instances`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: stream(MAX_BODY_BYTES + 4096),
    });
    expect(big.headers.get("content-length")).toBeNull();
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "payload_too_large" });
    const small = new TextEncoder().encode(JSON.stringify({ url: "https://streamed.example.com" }));
    const ok = await mesh(`/_mesh/v1/services/${name}/instances`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(small);
          controller.close();
        },
      }),
    });
    expect(ok.status).toBe(201);
  });

  it("lets a service config at its schema's limits through (256 KiB bound) and 413s a bigger one", async () => {
    const name = uniqueName("body");
    const pathPrefixes = Array.from({ length: 100 }, (_, i) => `/${name}/${String(i).padStart(3, "0")}/${"p".repeat(1000)}`.slice(0, 1024));
    const config = { routes: { pathPrefixes } };
    expect(JSON.stringify(config).length).toBeGreaterThan(MAX_BODY_BYTES);
    const res = await mesh(`/_mesh/v1/services/${name}`, json("PUT", config));
    expect(res.status).toBe(201);
    const huge = await mesh(`/_mesh/v1/services/${uniqueName("body")}`, json("PUT", { routes: { pathPrefixes: ["/x"] }, healthCheck: { path: `/${"p".repeat(MAX_CONFIG_BODY_BYTES)}` } }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: "payload_too_large" });
  });
});
