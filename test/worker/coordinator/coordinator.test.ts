import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ServiceCoordinator } from "../../../src/coordinator/service-coordinator.js";
import { MAX_LEASE_SLOTS } from "../../../src/core/strict/slot-pool.js";
import { MAX_PICKS_PER_BATCH } from "../../../src/core/snapshot.js";
import { ADMIN, control, createService, mesh, originUrls, register, resetOrigins, stubFor, uniqueName } from "../helpers.js";

async function states(name: string): Promise<Record<string, string>> {
  const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
  const body = await res.json<{ instances: { url: string; state: string }[] }>();
  return Object.fromEntries(body.instances.map((i) => [i.url, i.state]));
}

/** Moves the clock the Durable Object sees (it runs in the test isolate) past its next alarm. */
function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

describe("ServiceCoordinator", () => {
  it("arms an alarm and marks an instance unhealthy after unhealthyThreshold failed checks, healthy again after healthyThreshold", async () => {
    const name = uniqueName();
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, timeoutMs: 1000 },
    });
    const [a = "", b = ""] = originUrls();
    await register(name, token, a);
    await register(name, token, b);
    const stub = stubFor(name);
    const alarmAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarmAt).not.toBeNull();

    await control(b, { healthy: false });
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(6_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await states(name)).toEqual({ [a]: "healthy", [b]: "healthy" }); // one failure < threshold 2
    advance(6_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await states(name)).toEqual({ [a]: "healthy", [b]: "unhealthy" });

    const snap = await stub.snapshot();
    expect(snap?.instances.map((i) => i.url)).toEqual([a]);

    await control(b, { healthy: true });
    advance(6_000);
    await runDurableObjectAlarm(stub);
    expect((await states(name))[b]).toBe("unhealthy");
    advance(6_000);
    await runDurableObjectAlarm(stub);
    expect((await states(name))[b]).toBe("healthy");
  });

  it("runs no extra check round when the alarm fires twice", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, healthCheck: { intervalSeconds: 5 } });
    const [a = ""] = originUrls();
    await register(name, token, a);
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(6_000);
    await runDurableObjectAlarm(stub);
    const first = (await stub.describe()).instances[0]?.lastCheckAt;
    expect(first).not.toBeNull();
    await runDurableObjectAlarm(stub);
    expect((await stub.describe()).instances[0]?.lastCheckAt).toBe(first);
    // ...and the object re-armed itself for the next round.
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  });

  it("expires a lease that was not renewed, 404s its heartbeat, then removes it after deregisterAfterSeconds", async () => {
    const name = uniqueName();
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      lease: { ttlSeconds: 10, deregisterAfterSeconds: 60 },
      healthCheck: { intervalSeconds: 30 },
    });
    const [a = ""] = originUrls();
    const reg = await register(name, token, a);
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(11_000);
    await runDurableObjectAlarm(stub);
    expect(await states(name)).toEqual({ [a]: "expired" });
    expect(await env.REGISTRY.get(`instance:${name}:${reg.id}`)).toBeNull();
    expect((await stub.snapshot())?.instances).toEqual([]);
    const hb = await mesh(reg.heartbeatUrl, { method: "PUT", headers: { authorization: `Bearer ${token}` } });
    expect(hb.status).toBe(404);

    advance(61_000);
    await runDurableObjectAlarm(stub);
    expect(await states(name)).toEqual({});

    // Re-registering the same URL brings back the same id.
    const again = await register(name, token, a);
    expect(again.id).toBe(reg.id);
  });

  it("ejects on consecutive passive failures but never the last routable instance", async () => {
    const name = uniqueName();
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      outlier: { consecutiveFailures: 3, baseEjectionSeconds: 10, maxEjectionSeconds: 60 },
    });
    const [a = "", b = ""] = originUrls();
    const ra = await register(name, token, a);
    const rb = await register(name, token, b);
    const stub = stubFor(name);
    const v0 = (await stub.snapshot())?.version ?? 0;
    const failures = (id: string) => ({ instanceId: id, requests: 3, failures: 3, trailingFailures: 3, latencyMsTotal: 3, lastFailure: "status" as const });
    const { version } = await stub.report([failures(ra.id)]);
    expect(version).toBeGreaterThan(v0);
    expect((await stub.snapshot())?.instances.map((i) => i.id)).toEqual([rb.id]);
    await stub.report([failures(rb.id)]);
    expect((await stub.snapshot())?.instances.map((i) => i.id)).toEqual([rb.id]);
    const view = await stub.describe();
    const byId = Object.fromEntries(view.instances.map((i) => [i.id, i]));
    expect(byId[ra.id]?.ejectedUntil).not.toBeNull();
    expect(byId[ra.id]?.requests).toBe(3);
    expect(byId[rb.id]?.ejectedUntil).toBeNull();

    // The ejection ends on its own: the alarm is armed for it.
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(11_000);
    await runDurableObjectAlarm(stub);
    expect((await stub.snapshot())?.instances.map((i) => i.id).sort()).toEqual([ra.id, rb.id].sort());
  });

  it("strict picks rotate exactly, one at a time or batched, and honour exclusions", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, routing: { mode: "strict" } });
    const ids: string[] = [];
    for (const url of originUrls().slice(0, 3)) ids.push((await register(name, token, url)).id);
    const stub = stubFor(name);
    const picks = async (excludes: string[][]) => {
      const result = await stub.pickBatch(excludes);
      if (!result.ok) throw new Error(result.error);
      return result.instances.map((i) => i?.id ?? null);
    };
    const single: (string | null)[] = [];
    for (let i = 0; i < 3; i++) single.push(...(await picks([[]])));
    expect([...single].sort()).toEqual([...ids].sort());
    // A batch continues the same rotation, in order, as if its picks came one by one.
    expect(await picks(Array.from({ length: 6 }, () => []))).toEqual([...single, ...single]);
    // Exclusions apply per pick: the middle one walks past its excluded host; the cursor still moves once per pick.
    expect(await picks([[], [single[1] ?? ""], []])).toEqual([single[0], single[2], single[2]]);
    expect(await picks([ids])).toEqual([null]);
    // An oversized batch is refused whole and spends no rotation slot.
    expect(await stub.pickBatch(Array.from({ length: MAX_PICKS_PER_BATCH + 1 }, () => []))).toEqual({
      ok: false,
      error: "too_many_picks",
      max: MAX_PICKS_PER_BATCH,
    });
    // 13 picks so far (3 + 6 + 3 + 1): the rotation goes on from there.
    expect(await picks([[]])).toEqual([single[13 % 3]]);
    // 8 RPCs (the refused one included) carried 14 answered picks.
    expect((await stub.describe()).strictPicks).toEqual({ rpcs: 8, picks: 14, leases: 0, slots: 0 });
  });

  it("leases blocks of consecutive rotation slots that continue the same rotation, and refuses bad sizes whole", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, routing: { mode: "strict" } });
    const ids: string[] = [];
    for (const url of originUrls().slice(0, 3)) ids.push((await register(name, token, url)).id);
    const stub = stubFor(name);
    const lease = async (count: number) => {
      const grant = await stub.leaseSlots(count);
      if (!grant.ok) throw new Error(grant.error);
      return { ids: grant.slots.map((i) => grant.instances[i]?.id), version: grant.version, distinct: grant.instances.length };
    };
    const first = await lease(3);
    expect([...first.ids].sort()).toEqual([...ids].sort());
    // A block names each instance once however long it is, and the next block goes on where this one stopped.
    const second = await lease(7);
    expect(second.distinct).toBe(3);
    expect(second.ids).toEqual([...first.ids, ...first.ids, first.ids[0]]);
    // Leases and single picks share the one rotation.
    const single = await stub.pickBatch([[]]);
    expect(single.ok && single.instances[0]?.id).toBe(first.ids[1]);
    for (const bad of [0, -0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, MAX_LEASE_SLOTS + 1]) {
      expect(await stub.leaseSlots(bad)).toEqual({ ok: false, error: "too_many_slots", max: MAX_LEASE_SLOTS });
    }
    // A membership change bumps the version every outstanding block carries: that is how routers void them.
    await stub.deregister(first.ids[0] ?? "");
    const after = await lease(4);
    expect(after.version).toBeGreaterThan(second.version);
    expect(after.ids).not.toContain(first.ids[0]);
    expect((await stub.describe()).strictPicks).toEqual({ rpcs: 12, picks: 1, leases: 3, slots: 14 });
  });

  it("keeps its state across an eviction (SQLite-backed)", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const reg = await register(name, token, originUrls()[0] ?? "");
    const stub = stubFor(name);
    const rows = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec<{ id: string; membership: string }>("SELECT id, membership FROM instances").toArray(),
    );
    expect(rows).toEqual([{ id: reg.id, membership: "active" }]);
    const meta = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec<{ key: string }>("SELECT key FROM meta ORDER BY key").toArray().map((r) => r.key),
    );
    expect(meta).toEqual(expect.arrayContaining(["config", "service", "snapshot_version"]));
  });

  it("bumps the snapshot version after a reload, so an ejection that ended while evicted reaches routers", async () => {
    const name = uniqueName();
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      outlier: { consecutiveFailures: 1, baseEjectionSeconds: 5, maxEjectionSeconds: 5 },
    });
    const [a = "", b = ""] = originUrls();
    const ra = await register(name, token, a);
    await register(name, token, b);
    const stub = stubFor(name);
    const { version } = await stub.report([
      { instanceId: ra.id, requests: 1, failures: 1, trailingFailures: 1, latencyMsTotal: 1, lastFailure: "status" },
    ]);
    vi.useFakeTimers({ toFake: ["Date"] });
    advance(6_000);
    const reloaded = await runInDurableObject(stub, (_i, state) => new ServiceCoordinator(state, env).snapshot(version));
    expect(reloaded).not.toBeNull();
    expect(reloaded?.instances).toHaveLength(2);
  });

  it("bumps the snapshot version when an instance re-registers with a new zone", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const url = originUrls()[0] ?? "";
    await register(name, token, url, { zone: "eu-west" });
    const stub = stubFor(name);
    const before = await stub.snapshot();
    if (before === null) throw new Error("no snapshot");
    // Unchanged state: the version holds and the answer is "nothing new".
    expect(await stub.snapshot(before.version)).toBeNull();
    await register(name, token, url, { zone: "us-east" });
    const after = await stub.snapshot(before.version);
    expect(after?.version).toBeGreaterThan(before.version);
    expect(after?.instances.map((i) => i.zone)).toEqual(["us-east"]);
  });

  it("ignores a config older than the one it holds, and refuses a stale register after the service was deleted", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const record = await env.REGISTRY.get<{ config: Parameters<ServiceCoordinator["configure"]>[1]; updatedAt: number }>(`service:${name}`, "json");
    if (record === null) throw new Error("no record");
    const stub = stubFor(name);
    const older = await stub.configure(name, { ...record.config, balancer: "weighted_round_robin" }, record.updatedAt - 1);
    expect(older.accepted).toBe(true);
    const held = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'config'").one().value,
    );
    expect(JSON.parse(held)).toMatchObject({ balancer: "round_robin" });

    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const stale = await stub.register(name, record.config, record.updatedAt, {
      url: originUrls()[0] ?? "",
      weight: 1,
      zone: null,
      metadata: null,
      ttlSeconds: null,
    });
    expect(stale).toEqual({ ok: false, error: "service_deleted" });

    // Re-creating the same name works at once: new token, registrations accepted.
    const again = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    expect(again.token).not.toBe(token);
    const reg = await register(name, again.token, originUrls()[0] ?? "");
    expect(reg.id).toMatch(/^[a-f0-9]{16}$/);
    expect(await states(name)).toEqual({ [originUrls()[0] ?? ""]: "healthy" });
  });

  it("repairs the KV mirror on sweep: restores missing keys and removes stray ones", async () => {
    const name = uniqueName();
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const reg = await register(name, token, originUrls()[0] ?? "");
    await env.REGISTRY.delete(`instance:${name}:${reg.id}`);
    await env.REGISTRY.put(`instance:${name}:00000000deadbeef`, "{}", { metadata: { url: "http://gone.example", weight: 1, zone: null } });
    const result = await stubFor(name).sweep();
    expect(result.mirrorRepaired).toBe(2);
    const keys = (await env.REGISTRY.list({ prefix: `instance:${name}:` })).keys.map((k) => k.name);
    expect(keys).toEqual([`instance:${name}:${reg.id}`]);
  });
});
