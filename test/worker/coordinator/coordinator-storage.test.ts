import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ServiceCoordinator } from "../../../src/coordinator/service-coordinator.js";
import { MIGRATIONS, migrate, SCHEMA_VERSION, storedSchemaVersion } from "../../../src/coordinator/storage/migrations.js";
import { STATS_FLUSH_MS } from "../../../src/coordinator/storage/write-behind.js";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { ADMIN, createService, mesh, originUrls, register, stubFor, uniqueName } from "../helpers.js";

/** The coordinator's tables as they were before schema versions (no meta.schema_version, no index). */
const PRE_VERSIONING_LAYOUT = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE instances (
  id TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, weight INTEGER NOT NULL, zone TEXT, metadata TEXT,
  ttl_seconds INTEGER, registered_at INTEGER NOT NULL, lease_expires_at INTEGER NOT NULL,
  membership TEXT NOT NULL, membership_since INTEGER NOT NULL, health TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, latency_ms_total REAL NOT NULL DEFAULT 0
);`;

const row = (sql: SqlStorage, id: string) => sql.exec("SELECT * FROM instances WHERE id = ?", id).toArray()[0];
/** The stored health column, which is JSON text. */
const healthText = (r: Record<string, SqlStorageValue> | undefined): string => (typeof r?.health === "string" ? r.health : "");
const meta = (sql: SqlStorage, key: string) => sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("coordinator storage", () => {
  it("migrates today's layout: rows survive, the version is recorded, and running again changes nothing", async () => {
    const stub = env.SERVICES.get(env.SERVICES.newUniqueId());
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: ["/old"] } });
    const now = Date.now();
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE IF EXISTS instances; DROP TABLE IF EXISTS meta;");
      sql.exec(PRE_VERSIONING_LAYOUT);
      for (const [k, v] of [["service", "old"], ["config", JSON.stringify(config)], ["config_version", "5"], ["snapshot_version", "7"]]) {
        sql.exec("INSERT INTO meta (key, value) VALUES (?, ?)", k, v);
      }
      sql.exec(
        "INSERT INTO instances VALUES ('00000000000000aa', 'http://10.0.0.7:8080', 2, 'eu', '{\"v\":\"1\"}', NULL, ?, ?, 'active', ?, ?, 12, 1, 54.5)",
        now,
        now + 60_000,
        now,
        JSON.stringify(initialHealth()),
      );
      const before = row(sql, "00000000000000aa");
      expect(storedSchemaVersion(sql)).toBe(0);

      expect(migrate(state.storage)).toEqual({ from: 0, to: SCHEMA_VERSION });
      expect(meta(sql, "schema_version")).toBe(String(SCHEMA_VERSION));
      // Migration 3 adds priority (default 0) and location (NULL); every other column is as it was.
      const migrated = { ...before, priority: 0, location: null };
      expect(row(sql, "00000000000000aa")).toEqual(migrated);
      expect(meta(sql, "snapshot_version")).toBe("7");
      expect(sql.exec("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'instances_by_registration'").toArray()).toHaveLength(1);

      // Idempotent: again through migrate (a no-op), and each step re-run by hand as a crash before its version write would.
      expect(migrate(state.storage)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      for (const m of MIGRATIONS) m.up(sql);
      expect(row(sql, "00000000000000aa")).toEqual(migrated);

      // A coordinator started on the migrated store serves what was there.
      const coordinator = new ServiceCoordinator(state, env);
      const described = await coordinator.describe();
      expect(described.service).toBe("old");
      expect(described.snapshotVersion).toBe(8); // bumped once after a load, as before
      expect(described.instances.map((i) => [i.id, i.weight, i.zone, i.metadata, i.requests])).toEqual([
        ["00000000000000aa", 2, "eu", { v: "1" }, 12],
      ]);
    });
  });

  it("refuses to start on a schema newer than the code, and the API answers 503 coordinator_unavailable", async () => {
    const name = uniqueName("future");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const stub = stubFor(name);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE meta SET value = '999' WHERE key = 'schema_version'");
      expect(() => new ServiceCoordinator(state, env)).toThrow(/schema version 999/);
    });
    // Reset the live object so the next call constructs it again, on the newer store.
    await runInDurableObject(stub, (_i, state) => state.abort("test: restart on a newer schema")).catch(() => undefined);
    const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    // Out of the registry again, so no cron sweep elsewhere reports this object as an error.
    await env.REGISTRY.delete(`service:${name}`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const body = await res.json<Record<string, unknown>>();
    expect(body.error).toBe("coordinator_unavailable");
    expect(typeof body.message).toBe("string");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|schema version/);
  });

  it("reports a corrupt row or config instead of failing every RPC, and the sweep repairs or removes the rows", async () => {
    const name = uniqueName("corrupt");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const [a = "", b = "", c = ""] = originUrls();
    const ra = await register(name, token, a);
    const rb = await register(name, token, b);
    const rc = await register(name, token, c);
    const record = await env.REGISTRY.get<{ config: Parameters<ServiceCoordinator["configure"]>[1]; updatedAt: number }>(`service:${name}`, "json");
    if (record === null) throw new Error("no record");
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await runInDurableObject(stubFor(name), async (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("UPDATE instances SET health = '{broken' WHERE id = ?", ra.id);
      sql.exec("UPDATE instances SET membership = 'lost' WHERE id = ?", rc.id);
      sql.exec("UPDATE meta SET value = '{\"routes\":' WHERE key = 'config'");

      // A coordinator loading this store (as after an eviction) starts, answers, and names the bad rows.
      const coordinator = new ServiceCoordinator(state, env);
      expect((await coordinator.snapshot())?.instances.map((i) => i.id)).toEqual([rb.id]);
      expect((await coordinator.describe()).instances.map((i) => i.id)).toEqual([rb.id]);
      const events = logged.mock.calls.map((args) => JSON.parse(String(args[0])) as { event: string; id?: string });
      expect(events.filter((e) => e.event === "corrupt_instance_row").map((e) => e.id).sort()).toEqual([ra.id, rc.id].sort());
      expect(events.map((e) => e.event)).toContain("corrupt_config");

      // The sweep's configure brings the config back; its sweep resets the repairable row and removes the other.
      expect((await coordinator.configure(name, record.config, record.updatedAt)).accepted).toBe(true);
      expect(JSON.parse(meta(sql, "config") ?? "null")).toEqual(record.config);
      const swept = await coordinator.sweep();
      expect([swept.corruptRepaired, swept.corruptRemoved]).toEqual([1, 1]);
      expect(JSON.parse(healthText(row(sql, ra.id)))).toEqual(initialHealth());
      expect(row(sql, rc.id)).toBeUndefined();
      expect((await coordinator.snapshot())?.instances.map((i) => i.id).sort()).toEqual([ra.id, rb.id].sort());
      // Repaired once: a second sweep finds nothing left to do.
      const again = await coordinator.sweep();
      expect([again.corruptRepaired, again.corruptRemoved]).toEqual([0, 0]);
    });
    expect(await env.REGISTRY.get(`instance:${name}:${rc.id}`)).toBeNull();
  });

  it("keeps report counters in memory and writes each instance's row once per flush; health at once, only when it changed", async () => {
    const name = uniqueName("counters");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const reg = await register(name, token, originUrls()[0] ?? "");
    const stub = stubFor(name);
    // The same health, spelled with spaces: a rewrite of the column would normalise it.
    const spaced = JSON.stringify(initialHealth(), null, 1);
    await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("UPDATE instances SET health = ? WHERE id = ?", spaced, reg.id));
    const ok = { instanceId: reg.id, requests: 2, failures: 0, trailingFailures: 0, latencyMsTotal: 10.5, lastFailure: null };
    const stored = () => runInDurableObject(stub, (_i, state) => row(state.storage.sql, reg.id));
    const started = Date.now();
    await stub.report([ok]);
    await stub.report([ok]);
    // Served from memory at once; the row waits for the coalesced flush (coordinator/storage/write-behind.ts).
    expect((await stub.describe()).instances[0]?.requests).toBe(4);
    const early = await stored();
    if (Date.now() - started < STATS_FLUSH_MS) expect(early).toMatchObject({ requests: 0, failures: 0, latency_ms_total: 0, health: spaced });
    await vi.waitFor(async () => expect(await stored()).toMatchObject({ requests: 4, failures: 0, latency_ms_total: 21, health: spaced }), {
      timeout: 5 * STATS_FLUSH_MS,
      interval: 50,
    });

    await stub.report([{ ...ok, requests: 1, failures: 1, trailingFailures: 1, latencyMsTotal: 3, lastFailure: "status" }]);
    // Health is not a statistic: its change is in the row before the report returns.
    const after = await stored();
    expect(JSON.parse(healthText(after))).toMatchObject({ passiveFailures: 1 });
    expect(after?.health).not.toBe(spaced);
    await vi.waitFor(async () => expect(await stored()).toMatchObject({ requests: 5, failures: 1, latency_ms_total: 24 }), {
      timeout: 5 * STATS_FLUSH_MS,
      interval: 50,
    });
    const shown = (await stub.describe()).instances[0];
    expect([shown?.requests, shown?.failures, shown?.meanLatencyMs]).toEqual([5, 1, 4.8]);
  });
});

describe("statistics written behind", () => {
  it("fifty reports within a flush period cost one row write per instance, not fifty", async () => {
    const name = uniqueName("coalesce");
    // No health round during the test: its writes would be counted too.
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, healthCheck: { intervalSeconds: 3600 } });
    const reg = await register(name, token, originUrls()[0] ?? "");
    const stub = stubFor(name);
    // SQLite's own count of rows changed by this object's connection.
    const changes = () => runInDurableObject(stub, (_i, state) => Number(state.storage.sql.exec<{ n: number }>("SELECT total_changes() AS n").one().n));
    const ok = { instanceId: reg.id, requests: 1, failures: 0, trailingFailures: 0, latencyMsTotal: 2, lastFailure: null };
    const row = () => runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ requests: number }>("SELECT requests FROM instances WHERE id = ?", reg.id).one().requests);
    // A first report and its flush, so the object's one-off writes (its first snapshot version) are behind us.
    await stub.report([ok]);
    await vi.waitFor(async () => expect(await row()).toBe(1), { timeout: 5 * STATS_FLUSH_MS, interval: 50 });
    const before = await changes();
    await Promise.all(Array.from({ length: 50 }, () => stub.report([ok])));
    await vi.waitFor(async () => expect(await row()).toBe(51), { timeout: 5 * STATS_FLUSH_MS, interval: 50 });
    expect((await changes()) - before).toBe(1);
  });
});
