import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, startHarness, type Harness } from "./harness.js";

/**
 * retry.requestTimeoutMs bounds how long a request's tries take together,
 * from the start of its try stage (as Envoy's route timeout): the bundle in
 * workerd against real origins that accept the connection and never answer.
 * Without it, two hung instances cost attempts × perTryTimeoutMs.
 */
describe("end to end: retry.requestTimeoutMs bounds the request across its tries", () => {
  let h: Harness;

  /** A service on every origin; its own name, so one test's local marks on an instance do not reach another's. */
  async function serve(name: string, retry: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
    const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${name}`, {
      ...extra,
      routes: { pathPrefixes: [`/${name}`] },
      retry,
      // The hung origins are the point here: no ejection between the tests' requests.
      outlier: { consecutiveFailures: 1000 },
    });
    expect(created.status).toBe(201);
    for (const o of h.origins) {
      const reg = await api(h, "POST", `/_mesh/v1/services/${name}/instances`, { url: o.url }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
    const warm = await fetch(`${h.mesh.url}/${name}/warm`);
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();
  }

  /** One GET while every origin hangs: its status, error body and how long it took. */
  async function hungRequest(path: string): Promise<{ status: number; message: string; elapsedMs: number }> {
    for (const o of h.origins) o.hang();
    try {
      const started = Date.now();
      const res = await fetch(`${h.mesh.url}${path}`);
      const body = (await res.json()) as { error?: string; message?: string };
      expect(body.error).toBe("upstream_unavailable");
      return { status: res.status, message: body.message ?? "", elapsedMs: Date.now() - started };
    } finally {
      for (const o of h.origins) o.unhang();
    }
  }

  beforeAll(async () => {
    h = await startHarness(2);
    await serve("budget-cut", { attempts: 3, perTryTimeoutMs: 2_000, requestTimeoutMs: 2_500 });
    await serve("budget-spent", { attempts: 3, perTryTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    await serve("budget-fast", { attempts: 3, perTryTimeoutMs: 1_000, requestTimeoutMs: 200 });
    // The fallback counts its time from the same start of the try stage: the first service has spent it all.
    await serve("budget-fallback", { attempts: 3, perTryTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    await serve("budget-primary", { attempts: 1, perTryTimeoutMs: 1_000, requestTimeoutMs: 1_000 }, { fallbackService: "budget-fallback" });
  });

  afterAll(async () => {
    await h.close();
  });

  it("cuts the retry's try to what is left: 504 after the request's 2.5 s, not two tries' 4 s", async () => {
    const r = await hungRequest("/budget-cut/a");
    expect(r.status).toBe(504);
    // Both instances were tried: the second for the 0.5 s left.
    expect(r.message).toContain("2 attempt(s) failed");
    expect(r.elapsedMs).toBeGreaterThanOrEqual(2_400);
    // Without the cap the two tries take 4 s; the margin is for a loaded machine's late timers.
    expect(r.elapsedMs).toBeLessThan(3_600);
  });

  it("starts no retry once the request's time is spent: one try, then 504", async () => {
    const r = await hungRequest("/budget-spent/a");
    expect(r.status).toBe(504);
    expect(r.message).toContain("1 attempt(s) failed");
    expect(r.elapsedMs).toBeGreaterThanOrEqual(950);
  });

  it("makes no try the request has no time left for: a fallback hop after the first service spent it answers 504 at once", async () => {
    const r = await hungRequest("/budget-primary/a");
    expect(r.status).toBe(504);
    expect(r.message).toBe("service 'budget-fallback': its retry.requestTimeoutMs ran out before an origin was tried");
    expect(r.elapsedMs).toBeGreaterThanOrEqual(950);
    // The fallback's one try would have taken another second.
    expect(r.elapsedMs).toBeLessThan(1_900);
  });

  it("leaves an answer within the time alone", async () => {
    const res = await fetch(`${h.mesh.url}/budget-fast/b`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-mesh-attempts")).toBe("1");
    await res.arrayBuffer();
  });
});
