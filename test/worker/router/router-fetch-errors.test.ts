import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { tryOrigin } from "../../../src/edge/proxy/try-origin.js";
import { createService, originUrls, register, resetOrigins, stubFor, uniqueName } from "../helpers.js";

/**
 * What workerd really reports when fetch throws (the table in
 * src/core/retry/fetch-errors.ts is taken from here), and how the try stage
 * classes it: a DNS failure is a connect failure, which even a POST may be
 * retried on; a connection broken after the request was sent never is.
 */

afterEach(async () => {
  await resetOrigins();
});

interface Thrown {
  message: string;
  retryable: unknown;
}

async function thrownBy(url: string, init: RequestInit = {}): Promise<Thrown> {
  try {
    const res = await fetch(url, init);
    await res.body?.cancel();
    return { message: `answered ${res.status}`, retryable: undefined };
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    return { message: err.message, retryable: (err as Error & { retryable?: unknown }).retryable };
  }
}

async function post(url: string): Promise<{ res: Response; event: Record<string, unknown> | undefined }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const ctx = createExecutionContext();
  try {
    const init = { method: "POST", body: "order-1", headers: { "content-length": "7" } };
    const res = await worker.fetch(new Request(url, init), { ...env, REQUEST_LOG: "json" }, ctx);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    const event = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "request");
    return { res, event };
  } finally {
    spy.mockRestore();
  }
}

describe("fetch failures in workerd", () => {
  it("reports an unresolvable name as an opaque internal error, and refusals and resets as a lost connection", async () => {
    const dns = await thrownBy("http://no-such-host.invalid/x");
    expect(dns.message).toMatch(/^internal error; reference = \w+$/);
    expect(dns.retryable).toBeUndefined();
    const refused = await thrownBy("http://127.0.0.1:1/x");
    expect(refused).toEqual({ message: "Network connection lost.", retryable: true });
    const origin = originUrls()[0] ?? "";
    const reset = await thrownBy(`${origin}/x`, { method: "POST", body: "x", headers: { "x-origin-fault": "reset-before-headers" } });
    expect(reset).toEqual({ message: "Network connection lost.", retryable: true });
    // The one post-send failure that looks like the DNS one: an answer that is not HTTP.
    const garbage = await thrownBy(`${origin}/x`, { headers: { "x-origin-fault": "garbage-headers" } });
    expect(garbage.message).toMatch(/^internal error; reference = /);
  });

  it("turns a 1xx that fetch hands back as the final answer into a failed try with no response to relay", async () => {
    // Sent as is (the mesh's own header rules would drop Expect), the origin answers 100 Continue first.
    const init = { method: "GET", headers: new Headers({ expect: "100-continue" }), body: null };
    const raw = await fetch(`${originUrls()[0] ?? ""}/x`, init);
    expect(raw.status).toBe(100);
    const result = await tryOrigin(`${originUrls()[0] ?? ""}/x`, init, 1_000);
    expect(result).toMatchObject({ ok: false, failure: { kind: "reset" }, response: null });
  });

  it("retries a POST whose instance's name does not resolve, as a connect failure, on another instance", async () => {
    const name = uniqueName("fe");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, retry: { attempts: 2 } });
    await register(name, token, "http://no-such-host.invalid");
    await register(name, token, originUrls()[0] ?? "");
    const attempts: string[] = [];
    // Round-robin puts one of two consecutive requests on the unresolvable instance first.
    for (let i = 0; i < 2; i++) {
      const { res, event } = await post(`http://mesh.test/${name}/orders`);
      expect(res.status).toBe(200);
      attempts.push(res.headers.get("x-mesh-attempts") ?? "");
      if (res.headers.get("x-mesh-attempts") === "2") expect(event).toMatchObject({ failures: ["connect-failure"], outcome: "failed_over" });
    }
    expect(attempts.sort()).toEqual(["1", "2"]);
  });

  it("does not resend a POST after a reset or a non-HTTP answer from an IP-literal origin", async () => {
    for (const fault of ["reset-before-headers", "garbage-headers"]) {
      const name = uniqueName("fe");
      const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, retry: { attempts: 2 } });
      for (const url of originUrls().slice(0, 2)) await register(name, token, url);
      const lines: string[] = [];
      const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
        lines.push(String(line));
      });
      const ctx = createExecutionContext();
      let res: Response;
      try {
        const init = { method: "POST", body: "order-1", headers: { "content-length": "7", "x-origin-fault": fault } };
        res = await worker.fetch(new Request(`http://mesh.test/${name}/orders`, init), { ...env, REQUEST_LOG: "json" }, ctx);
        await res.arrayBuffer();
        await waitOnExecutionContext(ctx);
      } finally {
        spy.mockRestore();
      }
      expect(res.status).toBe(502);
      expect(res.headers.get("x-mesh-attempts")).toBeNull();
      const event = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === "request");
      expect(event).toMatchObject({ attempts: 1, failures: ["reset"] });
      const view = await stubFor(name).describe();
      expect(view.instances.map((i) => i.failures).sort()).toEqual([0, 1]);
    }
  });
});
