import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, load, startHarness, type Harness } from "./harness.js";

/**
 * Canary and traffic split over real sockets: two v1 origins and one v2,
 * labelled by their registration metadata. A 5 % rule sends a share of 2,000
 * requests to v2 within a binomial 99.9 % interval; a header rule sends every
 * request that carries its header to v2.
 */
describe("end to end: traffic split", () => {
  let h: Harness;
  let canary = "";

  async function service(name: string, split: unknown[], extra: Record<string, unknown> = {}): Promise<void> {
    const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${name}`, {
      routes: { pathPrefixes: [`/${name}`] },
      split,
      // 2,000 requests on a loaded machine can outlast the default 30 s lease, and nothing here heartbeats.
      lease: { ttlSeconds: 600 },
      ...extra,
    });
    expect(created.status).toBe(201);
    for (const [i, o] of h.origins.entries()) {
      const version = i === 2 ? "v2" : "v1";
      const reg = await api(h, "POST", `/_mesh/v1/services/${name}/instances`, { url: o.url, metadata: { version } }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  }

  beforeAll(async () => {
    h = await startHarness(3);
    canary = h.origins[2]?.name ?? "";
    await service("five", [{ percent: 5, to: { version: "v2" } }]);
    await service("tester", [{ match: { header: { "x-canary": "1" } }, to: { version: "v2" } }]);
    // The coordinator is slow to judge here (one probe a minute, two failures to turn unhealthy, no passive
    // ejection before 100 failures), so what the router does with its own mark is all that is seen.
    await service("blue-green", [{ percent: 100, to: { version: "v2" } }], {
      healthCheck: { intervalSeconds: 60, unhealthyThreshold: 2 },
      outlier: { consecutiveFailures: 100 },
    });
  });

  afterAll(async () => {
    await h.close();
  });

  it("a 5 % rule sends v2 a share of 2,000 requests within the binomial 99.9 % interval, with no errors", async () => {
    const n = 2_000;
    const r = await load(`${h.mesh.url}/five/items`, n, 8);
    expect(r.errors).toEqual([]);
    const toCanary = r.byOrigin.get(canary) ?? 0;
    // Mean 100, σ = √(2000 · 0.05 · 0.95) ≈ 9.75; ±3.29 σ is the 99.9 % interval: [68, 132].
    const sd = Math.sqrt(n * 0.05 * 0.95);
    console.log(JSON.stringify({ event: "split_share", toCanary, of: n }));
    expect(toCanary).toBeGreaterThanOrEqual(n * 0.05 - 3.29 * sd);
    expect(toCanary).toBeLessThanOrEqual(n * 0.05 + 3.29 * sd);
    // The other 95 % is spread over both v1 origins.
    expect(r.byOrigin.size).toBe(3);
    expect(Math.min(r.byOrigin.get(h.origins[0]?.name ?? "") ?? 0, r.byOrigin.get(h.origins[1]?.name ?? "") ?? 0)).toBeGreaterThan(800);
  });

  it("a header rule routes every request with the header to the canary; without it, requests use every instance", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${h.mesh.url}/tester/items`, { headers: { "x-canary": "1" } });
      expect(res.status).toBe(200);
      expect((await res.json()) as { origin: string }).toMatchObject({ origin: canary });
    }
    const plain = await load(`${h.mesh.url}/tester/items`, 30, 2);
    expect(plain.errors).toEqual([]);
    // Header rules do not take their instances out of the rest, so plain requests use all three.
    expect(plain.byOrigin.size).toBe(3);
  });

  // Last: it stops the canary's origin.
  it("once the router has marked the group's only instance down, POSTs go to the rest instead of failing", async () => {
    const post = () => fetch(`${h.mesh.url}/blue-green/orders`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    const first = await post();
    expect(first.status).toBe(200);
    expect((await first.json()) as { origin: string }).toMatchObject({ origin: canary });
    await h.origins[2]?.stop();
    // The first POST after the stop meets the refused connection, which workerd reports as a lost connection:
    // a POST is not resent after that (docs/architecture.md, "Retries and request bodies"). It marks the canary.
    const refused = await post();
    expect(refused.status).toBe(502);
    await refused.text();
    const after: number[] = [];
    const origins = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await post();
      after.push(res.status);
      if (res.status === 200) origins.add(((await res.json()) as { origin: string }).origin);
      else await res.text();
    }
    expect(after).toEqual([200, 200, 200, 200, 200, 200]);
    expect(origins.has(canary)).toBe(false);
  });
});
