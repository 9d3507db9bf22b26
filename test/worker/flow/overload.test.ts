import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { isShed } from "../../../src/core/flow/shed.js";
import { ADMIN, control, type Echo, mesh, originUrls, resetOrigins, serviceWith } from "../helpers.js";

// Each test makes a service and sends a few dozen requests; on a shared, loaded machine that can pass the 5 s default.
afterEach(async () => {
  await resetOrigins();
});

/** How many proxied requests the origin at `url` has served so far (its /__control answer says). */
async function served(url: string): Promise<number> {
  const res = await fetch(`${url}/__control`, { method: "POST", body: "{}" });
  return (await res.json<{ served: number }>()).served;
}

/**
 * The mesh's answer with its body read as it arrives, as a client reads it: an answer's
 * concurrency slot is held until its body has been relayed, so a body left unread holds it.
 */
async function fetched(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await mesh(path, init);
  return new Response(await res.arrayBuffer(), res);
}

function first(): string {
  return originUrls()[0] ?? "";
}

/** Client addresses, split by whether `service` sheds them at `percent`. */
function clients(service: string, percent: number): { shed: string[]; kept: string[] } {
  const shed: string[] = [];
  const kept: string[] = [];
  for (let i = 1; shed.length < 3 || kept.length < 3; i++) (isShed(service, `198.51.100.${i}`, percent) ? shed : kept).push(`198.51.100.${i}`);
  return { shed: shed.slice(0, 3), kept: kept.slice(0, 3) };
}

describe("shedPercent", { timeout: 30_000 }, () => {
  it("answers 503 overloaded with Retry-After to the shed clients, every time, and never reaches an origin", async () => {
    const { name } = await serviceWith(1, { shedPercent: 50 });
    const { shed, kept } = clients(name, 50);
    const before = await served(first());
    for (let round = 0; round < 3; round++) {
      for (const ip of shed) {
        const res = await mesh(`/${name}/x`, { headers: { "cf-connecting-ip": ip } });
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toBe("10");
        expect(res.headers.get("x-mesh-instance")).toBeNull();
        const body = await res.json<{ error: string; message: string }>();
        expect(body.error).toBe("overloaded");
        expect(body.message).toMatch(/shedding/);
      }
    }
    expect(await served(first())).toBe(before);
    for (const ip of kept) {
      const res = await mesh(`/${name}/x`, { headers: { "cf-connecting-ip": ip } });
      expect(res.status).toBe(200);
      expect((await res.json<Echo>()).path).toBe(`/${name}/x`);
    }
    expect(await served(first())).toBe(before + kept.length);
  });

  it("sheds everyone at 100 and no one at 0, and shows the setting in GET /services/{name}", async () => {
    const all = await serviceWith(1, { shedPercent: 100 });
    expect((await mesh(`/${all.name}/x`, { headers: { "cf-connecting-ip": "203.0.113.1" } })).status).toBe(503);
    const none = await serviceWith(1, { shedPercent: 0 });
    expect((await mesh(`/${none.name}/x`, { headers: { "cf-connecting-ip": "203.0.113.1" } })).status).toBe(200);
    const view = await mesh(`/_mesh/v1/services/${all.name}`, { headers: ADMIN });
    const body = await view.json<{ service: { config: Record<string, unknown> } }>();
    expect(body.service.config).toMatchObject({ shedPercent: 100, retry: { budget: { percent: 20, minPerSecond: 10 } } });
  });
});

describe("maxConcurrentRequestsPerInstance and maxPendingRequests", { timeout: 30_000 }, () => {
  it("answers 503 overloaded with Retry-After once every instance is at its cap, without trying an origin", async () => {
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1 });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 400 });
    const before = await served(first());
    const slow = fetched(`/${name}/slow`);
    // Let the first request's try start before the second arrives.
    await new Promise((r) => setTimeout(r, 100));
    const refused = await mesh(`/${name}/second`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ error: "overloaded" });
    expect((await slow).status).toBe(200);
    expect(await served(first())).toBe(before + 1);
    // The slot is free again.
    expect((await mesh(`/${name}/third`)).status).toBe(200);
  });

  it("a primary at its cap that hands the request to a fallback with nothing healthy answers the fallback's 503, not overloaded", async () => {
    const { name: fallback } = await serviceWith(0);
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1, fallbackService: fallback });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 400 });
    const slow = mesh(`/${name}/slow`);
    await new Promise((r) => setTimeout(r, 100));
    const answered = await mesh(`/${name}/second`);
    expect(answered.status).toBe(503);
    const body = await answered.json<{ error: string; message: string }>();
    // The answer is the fallback's: it has no instance at all, which its own at-cap message would misstate.
    expect(body.error).toBe("no_healthy_instance");
    expect(body.message).toContain(`service '${fallback}'`);
    expect((await slow).status).toBe(200);
  });

  it("lets maxPendingRequests requests wait for a slot, and refuses the rest at once", async () => {
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1, maxPendingRequests: 1 });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 300 });
    const slow = fetched(`/${name}/a`);
    await new Promise((r) => setTimeout(r, 100));
    const waiting = fetched(`/${name}/b`);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const third = await mesh(`/${name}/c`);
    expect(third.status).toBe(503);
    // Refused at once: it did not wait for a slot.
    expect(Date.now() - started).toBeLessThan(250);
    expect((await slow).status).toBe(200);
    const waited = await waiting;
    expect(waited.status).toBe(200);
    expect((await waited.json<Echo>()).path).toBe(`/${name}/b`);
  });

  it("ends a wait for a slot at retry.requestTimeoutMs: 504 for the request's time, not a wait of 1 s and then overloaded", async () => {
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1, maxPendingRequests: 1, retry: { requestTimeoutMs: 300, bodyIdleTimeoutMs: 1_000 } });
    await mesh(`/${name}/warm`).then((r) => r.text());
    // The holder's answer sends one chunk and then nothing: its slot stays taken until the body idle limit (1 s).
    await control(first(), { fault: "hang-mid-body" });
    const holder = mesh(`/${name}/a`);
    const held = await holder;
    expect(held.status).toBe(200);
    const started = Date.now();
    const waiter = await mesh(`/${name}/b`);
    const waitedMs = Date.now() - started;
    expect(waiter.status).toBe(504);
    expect(await waiter.json()).toMatchObject({ error: "upstream_unavailable", message: `service '${name}': its retry.requestTimeoutMs ran out before an origin was tried` });
    // Its 300 ms, not the slot wait's 1 s.
    expect(waitedMs).toBeLessThan(900);
    await held.arrayBuffer().catch(() => null);
  });

  it("marks an instance slower than retry.requestTimeoutMs down like one that times out: its first try had all the time", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 1, perTryTimeoutMs: 2_000, requestTimeoutMs: 150 } });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 600 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await mesh(`/${name}/r${i}`);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // Round-robin sends it one request, which times out at 150 ms and marks it down in this isolate (2 s):
    // the rest go to the other instance. Not marked down, it would take every other request.
    expect(statuses.filter((s) => s === 504)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
  });

  it("frees the slot of a client that hung up mid-try, so the instance is not left out for good", async () => {
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1 });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 500 });
    const hangUp = new AbortController();
    const gone = mesh(`/${name}/gone`, { signal: hangUp.signal }).catch(() => null);
    await new Promise((r) => setTimeout(r, 150));
    hangUp.abort();
    await gone;
    await control(first(), { delayMs: 0 });
    // The origin answers the abandoned try at 500 ms; from then on its slot is free again.
    await new Promise((r) => setTimeout(r, 800));
    expect((await mesh(`/${name}/after`)).status).toBe(200);
  });

  it("frees the waiting place of a client that hung up while waiting for a slot", async () => {
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1, maxPendingRequests: 1 });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 400 });
    const slow = fetched(`/${name}/a`);
    await new Promise((r) => setTimeout(r, 100));
    const hangUp = new AbortController();
    const gone = mesh(`/${name}/gone`, { signal: hangUp.signal }).catch(() => null);
    await new Promise((r) => setTimeout(r, 50));
    hangUp.abort();
    await gone;
    expect((await slow).status).toBe(200);
    // The abandoned wait ends within 1 s; then the one waiting place is free again.
    await new Promise((r) => setTimeout(r, 1_100));
    const again = fetched(`/${name}/again`);
    await new Promise((r) => setTimeout(r, 100));
    const waiter = await fetched(`/${name}/waits`);
    expect(waiter.status).toBe(200);
    expect((await again).status).toBe(200);
  });

  it("holds the cap when the try waits for upstream signing: concurrent requests do not all take the one slot", async () => {
    // Signing awaits crypto.subtle between the pick and the try; every request that picked in that gap saw the slot free.
    const secret = { FLOW_SIGNING_SECRET: "flow-signing-secret" };
    const signed = async (path: string): Promise<Response> => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://mesh.test${path}`), { ...env, ...secret }, ctx);
      const body = await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
      return new Response(body, res);
    };
    const { name } = await serviceWith(1, { maxConcurrentRequestsPerInstance: 1, signing: { secretRef: "FLOW_SIGNING_SECRET" } });
    expect((await signed(`/${name}/warm`)).status).toBe(200);
    await control(first(), { delayMs: 300 });
    const before = await served(first());
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => signed(`/${name}/${i}`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503, 503, 503, 503]);
    expect(await served(first())).toBe(before + 1);
    // A try whose signing fails (the Worker lacks the secret) gives its slot back: the next request is served.
    const ctx = createExecutionContext();
    const unsigned = await worker.fetch(new Request(`http://mesh.test/${name}/no-secret`), env, ctx);
    const refusal = await unsigned.json<{ error: string }>();
    await waitOnExecutionContext(ctx);
    expect([unsigned.status, refusal.error]).toEqual([503, "not_configured"]);
    expect((await signed(`/${name}/after`)).status).toBe(200);
  });

  it("skips a saturated instance while another has room", async () => {
    const { name } = await serviceWith(2, { maxConcurrentRequestsPerInstance: 1 });
    await mesh(`/${name}/warm`).then((r) => r.text());
    await control(first(), { delayMs: 300 });
    await control(originUrls()[1] ?? "", { delayMs: 300 });
    const results = await Promise.all([mesh(`/${name}/1`), mesh(`/${name}/2`)]);
    const origins = await Promise.all(results.map(async (r) => (await r.json<Echo>()).origin));
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(new Set(origins).size).toBe(2);
  });
});

describe("the retry budget with instances at their cap", { timeout: 30_000 }, () => {
  it("spends no retry on a request left with nowhere to retry: the budget is there when an instance frees", async () => {
    const [a = "", b = ""] = originUrls();
    // A floor of 10 retries per 10 s and no share of requests: ten wasted retries would empty it.
    const { name } = await serviceWith(2, {
      maxConcurrentRequestsPerInstance: 1,
      retry: { attempts: 2, budget: { percent: 0, minPerSecond: 1 } },
      outlier: { consecutiveFailures: 100 },
    });
    for (let i = 0; i < 2; i++) await mesh(`/${name}/warm`).then((r) => r.text());
    await control(a, { delayMs: 2_500 });
    await control(b, { status: 503 });
    // Holds a's one slot (reached directly, or as the retry of b's 503).
    const slow = fetched(`/${name}/slow`);
    await new Promise((r) => setTimeout(r, 200));
    // Each gets b's 503, and would retry on a, which is at its cap: no retry can be made.
    for (let i = 0; i < 12; i++) {
      const res = await mesh(`/${name}/busy`);
      expect(res.status).toBe(503);
      await res.arrayBuffer();
    }
    expect((await slow).status).toBe(200);
    await control(a, { delayMs: 0 });
    // a has room again: a request that meets b's 503 first is retried there, within the budget.
    const after = [];
    for (let i = 0; i < 4; i++) {
      const res = await mesh(`/${name}/after`);
      await res.arrayBuffer();
      after.push(res.status);
    }
    expect(after).toEqual([200, 200, 200, 200]);
  });
});

describe("an origin's Retry-After on 503", { timeout: 30_000 }, () => {
  it("holds that instance back in this isolate until then, as one failed try", async () => {
    const { name } = await serviceWith(2, { retry: { attempts: 1 }, outlier: { consecutiveFailures: 100 } });
    await mesh(`/${name}/warm`).then((r) => r.text());
    const held = await mesh(`/${name}/x`, { headers: { "x-origin-retry-after": "2" } });
    expect(held.status).toBe(503);
    expect(held.headers.get("x-mesh-attempts")).toBe("1");
    const heldId = held.headers.get("x-mesh-instance");
    const after = new Set<string | null>();
    for (let i = 0; i < 6; i++) {
      const res = await mesh(`/${name}/y`);
      expect(res.status).toBe(200);
      after.add(res.headers.get("x-mesh-instance"));
    }
    expect(after.has(heldId)).toBe(false);
    // Held for 2 s, then back in the rotation.
    await new Promise((r) => setTimeout(r, 2_100));
    const later = new Set<string | null>();
    for (let i = 0; i < 4; i++) later.add((await mesh(`/${name}/z`)).headers.get("x-mesh-instance"));
    expect(later.has(heldId)).toBe(true);
  });
});

describe("a lone instance held back by its Retry-After", { timeout: 30_000 }, () => {
  it("answers 503 no_healthy_instance saying why, not that no instance is registered", async () => {
    const { name } = await serviceWith(1, { retry: { attempts: 1 }, outlier: { consecutiveFailures: 100 } });
    await mesh(`/${name}/warm`).then((r) => r.text());
    const held = await mesh(`/${name}/x`, { headers: { "x-origin-retry-after": "30" } });
    expect(held.status).toBe(503);
    await held.arrayBuffer();
    const res = await mesh(`/${name}/y`);
    expect(res.status).toBe(503);
    const body = await res.json<{ error: string; message: string }>();
    expect(body.error).toBe("no_healthy_instance");
    expect(body.message).toMatch(/Retry-After/);
    expect(body.message).not.toMatch(/no instance is registered/);
  });
});

describe("a 503 whose Retry-After is no delay-seconds and no HTTP-date", { timeout: 30_000 }, () => {
  it("holds nothing: a lone instance takes the next request at once, whatever Date.parse would make of the value", async () => {
    const { name } = await serviceWith(1, { retry: { attempts: 1 }, outlier: { consecutiveFailures: 100 } });
    await mesh(`/${name}/warm`).then((r) => r.text());
    // Date.parse reads each as a date in 2099 (a weekday that is not the date's, a zone other than GMT, no
    // time, 31 February as 3 March): the instance was held out for the full 5 minutes.
    for (const value of ["Soon 2099", "Thu, 01 Jan 2099", "Tue, 31 Feb 2099 00:00:00 GMT", "Mon, 01 Dec 2099 00:00:00 GMT", "Tue, 01 Dec 2099 00:00:00 PST", "2099-01-01T00:00:00Z"]) {
      const refused = await mesh(`/${name}/x`, { headers: { "x-origin-retry-after": value } });
      expect(refused.status, value).toBe(503);
      expect(refused.headers.get("x-origin"), value).not.toBeNull();
      await refused.arrayBuffer();
      const next = await mesh(`/${name}/y`);
      expect(next.status, `after Retry-After: ${value}`).toBe(200);
      await next.arrayBuffer();
    }
    // The same origin's real HTTP-date still holds it (Fri, 31 Dec 9999 is one): the test can see a hold.
    const held = await mesh(`/${name}/x`, { headers: { "x-origin-retry-after": "Fri, 31 Dec 9999 23:59:59 GMT" } });
    expect(held.status).toBe(503);
    await held.arrayBuffer();
    const none = await mesh(`/${name}/y`);
    expect(none.status).toBe(503);
    expect((await none.json<{ error: string; message: string }>()).message).toMatch(/Retry-After/);
  });
});

describe("retry.budget", { timeout: 30_000 }, () => {
  /** Total tries (x-mesh-attempts) for `n` GETs to a service whose two origins both answer 503. */
  async function triesFor(budget: unknown, n: number): Promise<number> {
    const { name } = await serviceWith(2, { retry: { attempts: 2, retryOn: ["503"], budget }, outlier: { consecutiveFailures: 1000 } });
    await Promise.all(originUrls().slice(0, 2).map((u) => control(u, { status: 503 })));
    let tries = 0;
    for (let i = 0; i < n; i++) {
      const res = await mesh(`/${name}/x`);
      expect(res.status).toBe(503);
      tries += Number(res.headers.get("x-mesh-attempts"));
      await res.arrayBuffer();
    }
    return tries;
  }

  it("stops retrying once the budget is spent, and answers with the origin's own 503", async () => {
    // percent 0: only the floor, 1 a second, i.e. 10 retries in the 10 s window.
    expect(await triesFor({ percent: 0, minPerSecond: 1 }, 30)).toBe(30 + 10);
  });

  it("retries every request without a budget (null): attempts is the only bound", async () => {
    expect(await triesFor(null, 30)).toBe(60);
  });
});
