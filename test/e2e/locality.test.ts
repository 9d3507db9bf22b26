import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, startHarness, type Harness } from "./harness.js";

/**
 * Proximity steering over real sockets: two origins register a location each
 * (London, New York), and clients in two places, set per request through
 * Miniflare's dispatchFetch `cf`, each get the origin near them.
 */
describe("end to end: proximity picks the near origin", () => {
  let h: Harness;
  const SERVICE = "near";

  beforeAll(async () => {
    h = await startHarness(2);
    const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${SERVICE}`, {
      routes: { pathPrefixes: ["/near"] },
      locality: { mode: "proximity" },
    });
    expect(created.status).toBe(201);
    const locations = [
      { latitude: 51.5074, longitude: -0.1278 },
      { latitude: 40.7128, longitude: -74.006 },
    ];
    for (const [i, o] of h.origins.entries()) {
      const reg = await api(h, "POST", `/_mesh/v1/services/${SERVICE}/instances`, { url: o.url, location: locations[i] }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  });

  afterAll(async () => {
    await h.close();
  });

  async function originsFor(cf: Record<string, string>, n: number): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const res = await h.mesh.mf.dispatchFetch(`${h.mesh.url}/near/items`, { cf });
      expect(res.status).toBe(200);
      const origin = ((await res.json()) as { origin: string }).origin;
      counts.set(origin, (counts.get(origin) ?? 0) + 1);
    }
    return counts;
  }

  it("a client in Paris gets the London origin and one in Chicago the New York origin, every time", async () => {
    const [london, newYork] = h.origins;
    if (london === undefined || newYork === undefined) throw new Error("two origins needed");
    expect(await originsFor({ latitude: "48.8566", longitude: "2.3522", colo: "CDG" }, 30)).toEqual(new Map([[london.name, 30]]));
    expect(await originsFor({ latitude: "41.8781", longitude: "-87.6298", colo: "ORD" }, 30)).toEqual(new Map([[newYork.name, 30]]));
  });

  it("when the near origin is gone, the far one serves (spill-over), with no client error", async () => {
    const [london, newYork] = h.origins;
    if (london === undefined || newYork === undefined) throw new Error("two origins needed");
    await london.stop();
    try {
      // The first request finds London dead, fails over to New York and marks London down in this isolate.
      expect(await originsFor({ latitude: "48.8566", longitude: "2.3522" }, 20)).toEqual(new Map([[newYork.name, 20]]));
    } finally {
      await london.start();
    }
  });
});
