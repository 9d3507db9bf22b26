import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { mesh, serviceWith, stubFor } from "../helpers.js";

/**
 * docs/analytics.md, *Prometheus*: "an instance's series disappear once it is
 * no longer a member", and the service-wide retries and failovers keep what
 * it had counted. A service whose traffic stopped must get there too: its
 * routers send no more deltas, so nothing but the scrape itself can notice.
 */

const READER = { authorization: "Bearer test-metrics-token" };
const ADMIN = { authorization: "Bearer test-admin-token" };

afterEach(() => {
  vi.useRealTimers();
});

async function scrape(): Promise<string[]> {
  return (await (await mesh("/_mesh/v1/metrics", { headers: READER })).text()).split("\n");
}

describe("a departed instance's series", () => {
  it("go once it has left, with no traffic after it, and the service-wide counters keep its counts", async () => {
    const { name, ids } = await serviceWith(2, { retry: { attempts: 2, perTryTimeoutMs: 1000 } });
    const [a = "", b = ""] = ids;
    const acc = new MetricsAccumulator();
    // 3 requests b answered after a failed try at a: b's requests and both instances' upstream histograms.
    for (let i = 0; i < 3; i++) {
      acc.recordRequest(name, b, "ok", 200, 12, [
        { instanceId: a, ok: false, latencyMs: 5 },
        { instanceId: b, ok: true, latencyMs: 5 },
      ]);
    }
    await stubFor(name).report([], acc.take(name) ?? undefined);
    const ofB = (lines: string[]) => lines.filter((l) => l.includes(`service="${name}"`) && l.includes(`instance="${b}"`));
    expect(ofB(await scrape()).length).toBeGreaterThan(0);

    // b deregisters, its drain ends and the alarm removes it. Then the service is quiet: no request, no delta.
    expect((await mesh(`/_mesh/v1/services/${name}/instances/${b}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await runDurableObjectAlarm(stubFor(name));
    const view = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<{ instances: { id: string }[] }>();
    expect(view.instances.map((i) => i.id)).toEqual([a]);

    const lines = await scrape();
    expect(ofB(lines)).toEqual([]);
    expect(lines).toContain(`switchyard_retries_total{service="${name}"} 3`);
    expect(lines).toContain(`switchyard_failovers_total{service="${name}"} 3`);
  });
});
