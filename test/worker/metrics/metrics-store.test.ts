import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { MetricsStore } from "../../../src/coordinator/metrics/metrics-store.js";
import { InstanceTable } from "../../../src/coordinator/storage/instance-table.js";
import { STATS_FLUSH_MS } from "../../../src/coordinator/storage/write-behind.js";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { MetricsAccumulator } from "../../../src/core/metrics/accumulator.js";
import { ADMIN, createService, mesh, serviceWith, stubFor } from "../helpers.js";
import { MESH } from "../../../scripts/scale/model/constants.mjs";

const READER = { authorization: "Bearer test-metrics-token" };

function delta(service: string, instance: string, n: number) {
  const acc = new MetricsAccumulator();
  for (let i = 0; i < n; i++) acc.recordRequest(service, instance, "ok", 200, 12, [{ instanceId: instance, ok: true, latencyMs: 10 }]);
  return acc.take(service) ?? undefined;
}

describe("coordinator metrics storage", () => {
  it("writes totals and minute records to SQLite within a flush period, so a fresh load (after eviction) reads what was reported", async () => {
    const { name, ids } = await serviceWith(1);
    const [a = ""] = ids;
    const stub = stubFor(name);
    await stub.report([], delta(name, a, 7));
    await stub.report([], delta(name, a, 5));
    const reload = () =>
      runInDurableObject(stub, (_i, state) => {
        const store = new MetricsStore(state.storage.sql);
        return { totals: store.totals(), minutes: [...store.minutes().values()].map((m) => m.get(a)?.requests) };
      });
    // Both deltas reach SQLite in one coalesced flush (coordinator/storage/write-behind.ts), without another event.
    await vi.waitFor(
      async () => {
        const reloaded = await reload();
        expect(reloaded.totals.find((t) => t.instance === a)?.record.requests).toEqual({ "ok 2xx": 12 });
        expect(reloaded.minutes.reduce((n, r) => n + (r?.["ok 2xx"] ?? 0), 0)).toBe(12);
      },
      { timeout: 5 * STATS_FLUSH_MS, interval: 50 },
    );
  });

  it("drops a malformed delta whole and deltas for instances that are not members", async () => {
    const { name, ids } = await serviceWith(1);
    const stub = stubFor(name);
    const record = delta(name, ids[0] ?? "", 1)?.instances[0]?.record;
    if (record === undefined) throw new Error("no record");
    // A negative count (a bug, or a build with another layout) must not reach the totals.
    await stub.report([], { instances: [{ instance: ids[0] ?? "", record: { ...record, retries: -3 } }] });
    await stub.report([], delta(name, "0000000000000000", 4));
    const res = await mesh(`/_mesh/v1/services/${name}/stats?window=1m`, { headers: READER });
    expect(await res.json()).toMatchObject({ requests: 0 });
  });

  it("starts a service created again under a deleted name from zero", async () => {
    const { name, ids } = await serviceWith(1);
    await stubFor(name).report([], delta(name, ids[0] ?? "", 3));
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const res = await mesh(`/_mesh/v1/services/${name}/stats?window=1h`, { headers: READER });
    expect(await res.json()).toMatchObject({ requests: 0 });
    const text = await (await mesh("/_mesh/v1/metrics", { headers: READER })).text();
    expect(text).not.toContain(`switchyard_requests_total{service="${name}"`);
    expect(text).toContain(`switchyard_health_checks_total{service="${name}",result="pass"} 0`);
  });
});

describe("coordinator metrics, written behind", () => {
  it("fifty deltas within a flush period cost two row writes per instance (its total and its minute), not a hundred", async () => {
    const { name, ids } = await serviceWith(1);
    const [a = ""] = ids;
    const stub = stubFor(name);
    const changes = () => runInDurableObject(stub, (_i, state) => Number(state.storage.sql.exec<{ n: number }>("SELECT total_changes() AS n").one().n));
    const stored = () => runInDurableObject(stub, (_i, state) => new MetricsStore(state.storage.sql).totals().find((t) => t.instance === a)?.record.requests["ok 2xx"] ?? 0);
    // A first delta and its flush, so the object's one-off writes are behind us.
    await stub.report([], delta(name, a, 1));
    await vi.waitFor(async () => expect(await stored()).toBe(1), { timeout: 5 * STATS_FLUSH_MS, interval: 50 });
    const before = await changes();
    await Promise.all(Array.from({ length: 50 }, () => stub.report([], delta(name, a, 1))));
    await vi.waitFor(async () => expect(await stored()).toBe(51), { timeout: 5 * STATS_FLUSH_MS, interval: 50 });
    // Two rows; three if the deltas straddled a minute boundary (two minute records).
    expect((await changes()) - before).toBeLessThanOrEqual(3);
    expect((await changes()) - before).toBeGreaterThanOrEqual(2);
  });
});

describe("rows written by a flush, as Durable Objects bill them", () => {
  it("one instance's flush (its counters, its total, its minute) and one probe result cost what the scale model bills for them", async () => {
    const { name, ids } = await serviceWith(1);
    const [a = ""] = ids;
    const stub = stubFor(name);
    // Its rows exist already, as in the steady state, where every flush rewrites them.
    await stub.report([], delta(name, a, 1));
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (_i, state) => new MetricsStore(state.storage.sql).totals().length)).toBeGreaterThan(0), {
      timeout: 5 * STATS_FLUSH_MS,
      interval: 50,
    });
    const next = delta(name, a, 1);
    const billed = await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      let counting = false;
      let rows = 0;
      // The object's own SQLite; while counting, each statement runs to the end and its rowsWritten (the billed figure) is summed.
      const view = new Proxy(sql, {
        get(target, prop) {
          if (prop !== "exec") return Reflect.get(target, prop) as unknown;
          return (query: string, ...bindings: SqlStorageValue[]) => {
            const cursor = target.exec(query, ...bindings);
            if (counting) {
              cursor.toArray();
              rows += cursor.rowsWritten;
            }
            return cursor;
          };
        },
      });
      const store = new MetricsStore(view);
      store.apply(next, Date.now(), (id) => id === a);
      counting = true;
      store.flush();
      new InstanceTable(view).saveCounters({ id: a, requests: 2, failures: 0, latencyMsTotal: 20 });
      const flush = rows;
      // A probe result, as health-rounds.ts records it once the counter exists: the health column and the checks counter.
      store.count("healthChecksPassed");
      rows = 0;
      new InstanceTable(view).saveHealth(a, initialHealth());
      store.count("healthChecksPassed");
      return { flush, probe: rows };
    });
    expect(billed).toEqual({ flush: MESH.statsRowsPerInstance, probe: MESH.probeRowsPerResult });
  });
});
