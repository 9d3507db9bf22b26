import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { mesh, serviceWith, stubFor } from "../helpers.js";

const READER = { authorization: "Bearer test-metrics-token" };

afterEach(() => {
  vi.useRealTimers();
});

/** `n` requests answered by `last` after a failed try at `first`: n retries and n failovers. */
function failedOver(service: string, first: string, last: string, n: number) {
  const acc = new MetricsAccumulator();
  const tries = [
    { instanceId: first, ok: false, latencyMs: 5 },
    { instanceId: last, ok: true, latencyMs: 5 },
  ];
  for (let i = 0; i < n; i++) acc.recordRequest(service, last, "ok", 200, 12, tries);
  return acc.take(service) ?? undefined;
}

async function sample(service: string, metric: string): Promise<number | undefined> {
  const text = await (await mesh("/_mesh/v1/metrics", { headers: READER })).text();
  const series = `${metric}{service="${service}"} `;
  const line = text.split("\n").find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length));
}

describe("service-level counters across scrapes", () => {
  it("never go backwards when an instance that answered requests leaves and its totals are pruned", async () => {
    const { name, ids } = await serviceWith(2, { retry: { attempts: 2, perTryTimeoutMs: 1000 } });
    const [a = "", b = ""] = ids;
    const stub = stubFor(name);
    // 3 requests that b answered after a failed try at a, and 4 the other way round.
    await stub.report([], failedOver(name, a, b, 3));
    await stub.report([], failedOver(name, b, a, 4));
    expect(await sample(name, "switchyard_retries_total")).toBe(7);
    expect(await sample(name, "switchyard_failovers_total")).toBe(7);

    // b deregisters; once its drain is over the alarm removes it, and the next delta's prune drops its totals.
    expect((await mesh(`/_mesh/v1/services/${name}/instances/${b}`, { method: "DELETE", headers: { authorization: "Bearer test-admin-token" } })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await runDurableObjectAlarm(stub);
    // One more request, retried on a and answered there: its delta's report prunes b's totals.
    await stub.report([], failedOver(name, a, a, 1));
    const shown = await (await mesh(`/_mesh/v1/services/${name}`, { headers: { authorization: "Bearer test-admin-token" } })).json<{ instances: { id: string }[] }>();
    expect(shown.instances.map((i) => i.id)).toEqual([a]);

    // 8 of each, never less than the 7 already scraped.
    expect(await sample(name, "switchyard_retries_total")).toBe(8);
    expect(await sample(name, "switchyard_failovers_total")).toBe(8);
  });

  it("never go backwards when the coordinator is reset within a second of the report a scrape has already shown", async () => {
    const { name, ids } = await serviceWith(2, { retry: { attempts: 2, perTryTimeoutMs: 1000 } });
    const [a = "", b = ""] = ids;
    const stub = stubFor(name);
    await stub.report([], failedOver(name, a, b, 5));
    // Scraped at once, before the written-behind flush (STATS_FLUSH_MS) has run.
    expect(await sample(name, "switchyard_retries_total")).toBe(5);
    // Evicted or reset now: the next call constructs the object again from SQLite.
    await runInDurableObject(stub, (_i, state) => state.abort("test: reset right after a scrape")).catch(() => undefined);
    // A drop would be read by Prometheus as a counter reset: rate() would count all 5 again.
    expect(await sample(name, "switchyard_retries_total")).toBe(5);
    expect(await sample(name, "switchyard_failovers_total")).toBe(5);
  });
});
