import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, createService, load, startHarness, type Harness } from "./harness.js";

/**
 * Strict mode over real sockets, with many requests in flight at once: their
 * picks share coordinator RPCs (src/edge/pick/strict-pick-batcher.ts), each request
 * in its own request context, and the global rotation must stay exact.
 */
describe("end to end: strict mode under concurrency", () => {
  let h: Harness;
  const SERVICE = "ledger";

  beforeAll(async () => {
    h = await startHarness(3);
    await createService(h, SERVICE, { routes: { pathPrefixes: ["/ledger"] }, routing: { mode: "strict" } });
  });

  afterAll(async () => {
    await h.close();
  });

  it("answers 600 GETs sent 32 at a time with no error and an exact round-robin, in fewer RPCs than picks", async () => {
    const r = await load(`${h.mesh.url}/ledger/entries`, 600, 32);
    expect(r.errors).toEqual([]);
    expect([...r.byOrigin.values()]).toEqual([200, 200, 200]);
    const view = await api<{ strictPicks: { rpcs: number; picks: number } }>(h, "GET", `/_mesh/v1/services/${SERVICE}`);
    // Every pick reached the coordinator (none fell back to snapshot mode), and picks that met one in flight
    // shared an RPC: about 3 picks per RPC here; one RPC per pick would be 600.
    expect(view.body.strictPicks.picks).toBe(600);
    expect(view.body.strictPicks.rpcs).toBeLessThanOrEqual(0.75 * 600);
  });
});
