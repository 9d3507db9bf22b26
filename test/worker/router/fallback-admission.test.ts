import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { isShed } from "../../../src/core/flow/shed.js";
import { generateTestKey, mint } from "../../unit/security/jwt-keys.js";
import { control, createService, type Echo, originUrls, register, resetOrigins, uniqueName } from "../helpers.js";

/**
 * fallbackService into a service with its own rateLimits and shedPercent
 * (src/edge/route/fallback.ts): the hop runs the fallback's admission, so a
 * small standby's limits protect it from hopped traffic too. A refusal by
 * them is the fallback's own answer (429, or 503 overloaded), logged with
 * the fallback as `service` and the first service as `fallbackFrom`.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

interface Answer {
  status: number;
  body: string;
  retryAfter: string | null;
  event: Record<string, unknown> | undefined;
}

/** One request through the mesh's fetch handler, with the request line it wrote. */
async function send(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://mesh.test${path}`, { headers }), { ...env, REQUEST_LOG: "json" }, ctx);
    const body = await res.text();
    await waitOnExecutionContext(ctx);
    const event = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "request");
    return { status: res.status, body, retryAfter: res.headers.get("retry-after"), event };
  } finally {
    spy.mockRestore();
  }
}

/**
 * A fallback with `config` and one instance, and a primary that names it: with
 * no instance, or with `primaryInstance` (a URL) registered.
 */
async function primaryFallingBackTo(
  config: Record<string, unknown>,
  primaryInstance?: string,
  primaryConfig: Record<string, unknown> = {},
): Promise<{ primary: string; fallback: string }> {
  const fallback = uniqueName("fb-adm");
  const { token } = await createService(fallback, { routes: { pathPrefixes: [`/${fallback}`] }, ...config });
  await register(fallback, token, originUrls()[1] ?? "");
  const primary = uniqueName("fb-pri");
  const created = await createService(primary, { routes: { pathPrefixes: [`/${primary}`] }, fallbackService: fallback, ...primaryConfig });
  if (primaryInstance !== undefined) await register(primary, created.token, primaryInstance);
  return { primary, fallback };
}

async function statuses(path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(path)).status);
  return out;
}

describe("fallbackService into a service with rate limits and shedding", { timeout: 30_000 }, () => {
  it("spends the fallback's isolate-scope tokens on hopped requests, and answers its 429 once they are gone", async () => {
    const { primary, fallback } = await primaryFallingBackTo({
      rateLimits: [{ name: "standby", key: "service", ratePerSecond: 0.01, burst: 2 }],
    });
    expect(await statuses(`/${primary}/x`, 4)).toEqual([200, 200, 429, 429]);
    const refused = await send(`/${primary}/x`);
    expect(refused.status).toBe(429);
    // 0.01/s: the next token is up to 100 s away (less the time the test has taken).
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(100);
    expect(JSON.parse(refused.body)).toMatchObject({ error: "rate_limited", limit: "standby" });
    expect(refused.event).toMatchObject({ service: fallback, fallbackFrom: primary, outcome: "rate_limited", status: 429, attempts: 0 });
  });

  it("counts a hop at the time of the hop, not the request's start: a slow first service does not refill the fallback's bucket", async () => {
    // One request per 2 s. The primary's only try times out after 2 s, then the GET hops.
    const { primary, fallback } = await primaryFallingBackTo(
      { rateLimits: [{ name: "standby", key: "service", ratePerSecond: 0.5, burst: 1 }] },
      originUrls()[0],
      { retry: { attempts: 1, perTryTimeoutMs: 2_000 } },
    );
    await control(originUrls()[0] ?? "", { delayMs: 6_000 });
    try {
      const hopping = send(`/${primary}/x`);
      await new Promise((r) => setTimeout(r, 1_000));
      // The fallback's one token, taken directly while the primary's try waits; the next is 2 s away.
      expect((await send(`/${fallback}/x`)).status).toBe(200);
      const hopped = await hopping;
      expect(hopped.status).toBe(429);
      expect(JSON.parse(hopped.body)).toMatchObject({ error: "rate_limited", limit: "standby" });
      // About 1 s after the direct request: still empty. Judged at the request's start, the hop had pulled
      // the bucket's state back by the 2 s it waited, and this one got a token it does not have.
      expect((await send(`/${fallback}/x`)).status).toBe(429);
    } finally {
      await resetOrigins();
    }
  });

  it("spends the fallback's global-scope tokens on hopped requests", async () => {
    const { primary } = await primaryFallingBackTo({
      rateLimits: [{ name: "standby-global", key: "service", ratePerSecond: 0.01, burst: 2, scope: "global" }],
    });
    expect(await statuses(`/${primary}/x`, 5)).toEqual([200, 200, 429, 429, 429]);
  });

  it("sheds hopped requests in the fallback's shedPercent share with its 503 overloaded", async () => {
    const { primary, fallback } = await primaryFallingBackTo({ shedPercent: 100 });
    const shed = await send(`/${primary}/x`, { "cf-connecting-ip": "203.0.113.7" });
    expect(shed.status).toBe(503);
    expect(shed.retryAfter).toBe("10");
    expect(JSON.parse(shed.body)).toMatchObject({ error: "overloaded" });
    expect(shed.event).toMatchObject({ service: fallback, fallbackFrom: primary, outcome: "shed", status: 503 });
  });

  it("after the first service's tries all failed, still sheds by the fallback's shedPercent and the client's address", async () => {
    // Nothing listens on port 1: every try of the primary is a refused connection, and the GET hops.
    const { primary, fallback } = await primaryFallingBackTo({ shedPercent: 50 }, "http://127.0.0.1:1");
    const ips = Array.from({ length: 64 }, (_, i) => `198.51.100.${i + 1}`);
    const shedIp = ips.find((ip) => isShed(fallback, ip, 50)) ?? "";
    const keptIp = ips.find((ip) => !isShed(fallback, ip, 50)) ?? "";
    const shed = await send(`/${primary}/x`, { "cf-connecting-ip": shedIp });
    expect(shed.status).toBe(503);
    expect(JSON.parse(shed.body)).toMatchObject({ error: "overloaded" });
    expect(shed.event).toMatchObject({ service: fallback, fallbackFrom: primary, outcome: "shed", attempts: 0 });
    const kept = await send(`/${primary}/x`, { "cf-connecting-ip": keptIp });
    expect(kept.status).toBe(200);
    expect(kept.event).toMatchObject({ service: fallback, fallbackFrom: primary, outcome: "ok" });
  });

  it("checks the fallback's JWT first: a request it would refuse gets the first service's 503 and spends none of its tokens", async () => {
    const key = await generateTestKey("ES256", "fallback-adm-1");
    const { primary } = await primaryFallingBackTo({
      auth: { jwt: { issuer: "https://issuer.test", audiences: ["dr"], jwks: { keys: [key.jwk] } } },
      rateLimits: [{ name: "standby", key: "service", ratePerSecond: 0.01, burst: 1 }],
      shedPercent: 0,
    });
    for (let i = 0; i < 3; i++) {
      const anonymous = await send(`/${primary}/x`);
      expect(anonymous.status).toBe(503);
      expect(JSON.parse(anonymous.body)).toMatchObject({ error: "no_healthy_instance" });
      expect(anonymous.event).toMatchObject({ service: primary, fallbackFrom: null, outcome: "no_healthy_instance" });
    }
    const token = await mint(key, { iss: "https://issuer.test", aud: "dr", sub: "u", exp: Math.floor(Date.now() / 1000) + 600 });
    const admitted = await send(`/${primary}/x`, { authorization: `Bearer ${token}` });
    expect(admitted.status).toBe(200);
    expect((JSON.parse(admitted.body) as Echo).origin).toBe("wt-2");
    expect((await send(`/${primary}/x`, { authorization: `Bearer ${token}` })).status).toBe(429);
  });

  it("does not run the first service's own admission again on the hop", async () => {
    const fallback = uniqueName("fb-open");
    const { token } = await createService(fallback, { routes: { pathPrefixes: [`/${fallback}`] } });
    await register(fallback, token, originUrls()[1] ?? "");
    const primary = uniqueName("fb-lim");
    await createService(primary, {
      routes: { pathPrefixes: [`/${primary}`] },
      fallbackService: fallback,
      rateLimits: [{ name: "front", key: "service", ratePerSecond: 0.01, burst: 3 }],
    });
    // Run twice, the first service's limit would spend two tokens a request: 200, 200, 429, 429.
    expect(await statuses(`/${primary}/x`, 4)).toEqual([200, 200, 200, 429]);
  });
});
