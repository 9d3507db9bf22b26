import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, load, startHarness, until, type Harness, type ServiceReply } from "./harness.js";

/**
 * The whole loop over real sockets: origins register over HTTP, the
 * coordinator's alarm probes them, the router spreads and fails over, and a
 * killed origin leaves no client-visible error.
 */
describe("end to end: register, route, fail over, recover", () => {
  let h: Harness;
  let token = "";
  const SERVICE = "shop";

  beforeAll(async () => {
    h = await startHarness(3);
    const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${SERVICE}`, {
      routes: { pathPrefixes: ["/shop"] },
      healthCheck: { intervalSeconds: 1, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 },
      retry: { attempts: 3, perTryTimeoutMs: 1000 },
    });
    expect(created.status).toBe(201);
    token = created.body.registrationToken;
    for (const o of h.origins) {
      const reg = await api<{ id: string; heartbeatUrl: string }>(h, "POST", `/_mesh/v1/services/${SERVICE}/instances`, { url: o.url }, token);
      expect(reg.status).toBe(201);
      const hb = await fetch(reg.body.heartbeatUrl, { method: "PUT", headers: { authorization: `Bearer ${token}` } });
      expect(hb.status).toBe(200);
    }
  });

  afterAll(async () => {
    await h.close();
  });

  async function stateOf(url: string): Promise<string | undefined> {
    const view = await api<ServiceReply>(h, "GET", `/_mesh/v1/services/${SERVICE}`);
    return view.body.instances.find((i) => i.url === url)?.state;
  }

  it("spreads 300 GETs evenly over 3 origins", async () => {
    const r = await load(`${h.mesh.url}/shop/items`, 300, 1);
    expect(r.errors).toEqual([]);
    const counts = [...r.byOrigin.values()];
    expect(counts).toHaveLength(3);
    for (const c of counts) expect(Math.abs(c - 100)).toBeLessThanOrEqual(2);
  });

  it("loses no request when an origin is killed mid-run, marks it unhealthy, and takes it back after it returns", async () => {
    const victim = h.origins[1];
    if (victim === undefined) throw new Error("no victim");
    let killedAt = 0;
    const r = await load(`${h.mesh.url}/shop/items`, 300, 8, async (i) => {
      if (i === 100) {
        killedAt = Date.now();
        await victim.stop();
      }
    });
    expect(r.errors).toEqual([]);
    expect(r.statuses.get(200)).toBe(300);

    const detectMs = await until("victim unhealthy", 15_000, async () => (await stateOf(victim.url)) === "unhealthy");
    console.log(`victim marked unhealthy ${Date.now() - killedAt} ms after the kill (waited ${detectMs} ms after the run)`);

    // While it is down, nothing reaches it and clients still see no errors.
    const during = await load(`${h.mesh.url}/shop/items`, 60, 4);
    expect(during.errors).toEqual([]);
    expect(during.byOrigin.get(victim.name)).toBeUndefined();

    const servedBefore = victim.served;
    await victim.start();
    const restoredAt = Date.now();
    await until("victim healthy again", 15_000, async () => (await stateOf(victim.url)) === "healthy");
    // Routers refresh their snapshot within a second of the change.
    await until("traffic to the victim", 5_000, async () => {
      const r2 = await load(`${h.mesh.url}/shop/items`, 6, 1);
      return (r2.byOrigin.get(victim.name) ?? 0) > 0;
    });
    console.log(`victim back in rotation ${Date.now() - restoredAt} ms after restart`);
    expect(victim.served).toBeGreaterThan(servedBefore);
  });

  it("times out a hung origin and fails over without client errors", async () => {
    const victim = h.origins[2];
    if (victim === undefined) throw new Error("no victim");
    victim.hang();
    try {
      const r = await load(`${h.mesh.url}/shop/items`, 60, 4);
      expect(r.errors).toEqual([]);
      await until("hung origin unhealthy", 15_000, async () => (await stateOf(victim.url)) === "unhealthy");
    } finally {
      victim.unhang();
    }
  });
});
