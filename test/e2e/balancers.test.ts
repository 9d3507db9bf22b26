import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, load, startHarness, type Harness } from "./harness.js";

/**
 * The new balancers over real sockets: one of three origins answers 50 ms
 * slower (its /__control delay), and the load-aware kinds must send it clearly
 * less than round-robin's third; a ring_hash service keyed on a header must
 * send one user to one origin.
 */
describe("end to end: balancers against a slow origin", () => {
  let h: Harness;
  const SLOW_MS = 50;

  async function service(name: string, balancer: unknown): Promise<void> {
    const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${name}`, {
      routes: { pathPrefixes: [`/${name}`] },
      balancer,
    });
    expect(created.status).toBe(201);
    for (const o of h.origins) {
      const reg = await api(h, "POST", `/_mesh/v1/services/${name}/instances`, { url: o.url }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  }

  beforeAll(async () => {
    h = await startHarness(3);
    await service("rr", "round_robin");
    await service("lr", "least_request");
    await service("ewma", "peak_ewma");
    await service("sticky", { kind: "ring_hash", hashOn: { header: "x-user" } });
    const slow = h.origins[0];
    if (slow === undefined) throw new Error("no origin");
    const res = await fetch(`${slow.url}/__control`, { method: "POST", body: JSON.stringify({ delayMs: SLOW_MS }) });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await h.close();
  });

  /** The slow origin's share of 600 GETs sent 8 at a time. */
  async function slowShare(name: string): Promise<number> {
    // A warm-up request loads the service's snapshot, so every kind starts from the same state.
    await fetch(`${h.mesh.url}/${name}/warm`).then((r) => r.text());
    const r = await load(`${h.mesh.url}/${name}/items`, 600, 8);
    expect(r.errors).toEqual([]);
    return (r.byOrigin.get(h.origins[0]?.name ?? "") ?? 0) / 600;
  }

  it("sends the slow origin clearly less traffic under least_request and peak_ewma than under round_robin", async () => {
    const rr = await slowShare("rr");
    const lr = await slowShare("lr");
    const ewma = await slowShare("ewma");
    console.log(JSON.stringify({ event: "slow_origin_share", round_robin: rr, least_request: lr, peak_ewma: ewma }));
    expect(rr).toBeCloseTo(1 / 3, 1);
    expect(lr).toBeLessThan(0.8 * rr);
    expect(ewma).toBeLessThan(0.6 * rr);
  });

  it("ring_hash on x-user: sends one user to one origin across 100 requests, and different users to more than one", async () => {
    const originOf = async (user: string): Promise<string> => {
      const res = await fetch(`${h.mesh.url}/sticky/cart`, { headers: { "x-user": user } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { origin: string }).origin;
    };
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(await originOf("alice"));
    expect(seen.size).toBe(1);
    const spread = new Set<string>();
    for (let u = 0; u < 30; u++) spread.add(await originOf(`user-${u}`));
    expect(spread.size).toBeGreaterThan(1);
  });

  it("shows the resolved balancer in GET /services/{name}: the object with its options, or the plain kind", async () => {
    const sticky = await api<{ service: { config: { balancer: unknown } } }>(h, "GET", "/_mesh/v1/services/sticky");
    expect(sticky.body.service.config.balancer).toEqual({ kind: "ring_hash", hashOn: { header: "x-user" } });
    const lr = await api<{ service: { config: { balancer: unknown } } }>(h, "GET", "/_mesh/v1/services/lr");
    expect(lr.body.service.config.balancer).toBe("least_request");
  });
});
