import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, load, startHarness, until, type Harness, type ServiceReply } from "./harness.js";

/**
 * Priority pools and fallbackService over real sockets: a primary origin
 * (priority 0) and a standby (priority 1) in `shop`, and `shop-dr` as its
 * fallbackService. Killing the primary moves traffic to the standby; killing
 * the standby too moves it to the fallback service; no GET fails on the way.
 */
describe("end to end: dead primary → standby → fallbackService", () => {
  let h: Harness;
  const health = { intervalSeconds: 1, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 };

  beforeAll(async () => {
    h = await startHarness(3);
    const [primary, standby, dr] = h.origins;
    if (primary === undefined || standby === undefined || dr === undefined) throw new Error("three origins needed");
    const fallback = await api<{ registrationToken: string }>(h, "PUT", "/_mesh/v1/services/shop-dr", { routes: { pathPrefixes: ["/dr"] }, healthCheck: health });
    expect(fallback.status).toBe(201);
    expect((await api(h, "POST", "/_mesh/v1/services/shop-dr/instances", { url: dr.url }, fallback.body.registrationToken)).status).toBe(201);
    const shop = await api<{ registrationToken: string }>(h, "PUT", "/_mesh/v1/services/shop", {
      routes: { pathPrefixes: ["/shop"] },
      healthCheck: health,
      retry: { attempts: 3, perTryTimeoutMs: 1000 },
      fallbackService: "shop-dr",
    });
    expect(shop.status).toBe(201);
    const token = shop.body.registrationToken;
    expect((await api(h, "POST", "/_mesh/v1/services/shop/instances", { url: primary.url, priority: 0 }, token)).status).toBe(201);
    expect((await api(h, "POST", "/_mesh/v1/services/shop/instances", { url: standby.url, priority: 1 }, token)).status).toBe(201);
  });

  afterAll(async () => {
    await h.close();
  });

  async function stateOf(url: string): Promise<string | undefined> {
    const view = await api<ServiceReply>(h, "GET", "/_mesh/v1/services/shop");
    return view.body.instances.find((i) => i.url === url)?.state;
  }

  it("serves from the primary while it is healthy; the standby and the fallback get nothing", async () => {
    const r = await load(`${h.mesh.url}/shop/items`, 60, 2);
    expect(r.errors).toEqual([]);
    expect([...r.byOrigin.keys()]).toEqual([h.origins[0]?.name]);
  });

  it("fails over to the standby, then to the fallback service, with no failed GET", async () => {
    const [primary, standby, dr] = h.origins;
    if (primary === undefined || standby === undefined || dr === undefined) throw new Error("three origins needed");

    const first = await load(`${h.mesh.url}/shop/items`, 150, 4, async (i) => {
      if (i === 30) await primary.stop();
    });
    expect(first.errors).toEqual([]);
    expect(first.byOrigin.get(standby.name)).toBeGreaterThan(0);
    await until("primary unhealthy", 15_000, async () => (await stateOf(primary.url)) === "unhealthy");
    const onStandby = await load(`${h.mesh.url}/shop/items`, 40, 2);
    expect(onStandby.errors).toEqual([]);
    expect([...onStandby.byOrigin.keys()]).toEqual([standby.name]);

    const second = await load(`${h.mesh.url}/shop/items`, 150, 4, async (i) => {
      if (i === 30) await standby.stop();
    });
    expect(second.errors).toEqual([]);
    expect(second.byOrigin.get(dr.name)).toBeGreaterThan(0);
    await until("standby unhealthy", 15_000, async () => (await stateOf(standby.url)) === "unhealthy");
    const onFallback = await load(`${h.mesh.url}/shop/items`, 40, 2);
    expect(onFallback.errors).toEqual([]);
    expect([...onFallback.byOrigin.keys()]).toEqual([dr.name]);
  });

  it("takes traffic back to the primary once it returns", async () => {
    const [primary, standby] = h.origins;
    if (primary === undefined || standby === undefined) throw new Error("three origins needed");
    await primary.start();
    await standby.start();
    await until("primary healthy", 15_000, async () => (await stateOf(primary.url)) === "healthy");
    await until("traffic on the primary", 5_000, async () => {
      const r = await load(`${h.mesh.url}/shop/items`, 6, 1);
      return r.byOrigin.get(primary.name) === 6;
    });
  });
});
