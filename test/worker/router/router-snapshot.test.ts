import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { control, createService, exchange, originUrls, register, resetOrigins, stubFor, uniqueName } from "../helpers.js";

/**
 * An isolate that sat idle holds a snapshot taken before the coordinator's
 * latest health news; the first request after the idle spell must route from
 * the refreshed one (src/edge/cache/snapshot-cache.ts, STALE_AFTER_MS).
 */

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

async function routed(url: string): Promise<{ instance: string | null; snapshotVersion: unknown }> {
  const { res, logs } = await exchange(url, {}, (r) => r.arrayBuffer());
  return { instance: res.headers.get("x-mesh-instance"), snapshotVersion: logs.find((e) => e.event === "request")?.snapshotVersion };
}

describe("snapshot after an idle spell", () => {
  it("routes the first request after idling from the coordinator's newer snapshot, not the one it held", async () => {
    const name = uniqueName("sn");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 1, timeoutMs: 500, unhealthyThreshold: 1 },
    });
    const [a = "", b = ""] = originUrls();
    const dead = (await register(name, token, a)).id;
    await register(name, token, b);
    const before = await routed(`http://mesh.test/${name}/warm`);
    const stub = stubFor(name);
    expect(before.snapshotVersion).toBe((await stub.describe()).snapshotVersion);

    // Eleven quiet seconds later the coordinator's probe has found instance a down.
    await control(a, { healthy: false });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 11_000);
    await runDurableObjectAlarm(stub);
    const view = await stub.describe();
    expect(view.instances.find((i) => i.id === dead)?.state).toBe("unhealthy");

    // Both of the next two requests (round-robin would put one on a) use the new snapshot.
    for (let i = 0; i < 2; i++) {
      const after = await routed(`http://mesh.test/${name}/after-idle`);
      expect(after.snapshotVersion).toBe(view.snapshotVersion);
      expect(after.instance).not.toBe(dead);
    }
  });

  it("does not hold up a request whose snapshot is merely past its 1 s TTL: it refreshes behind it", async () => {
    const name = uniqueName("sn");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 1, timeoutMs: 500, unhealthyThreshold: 1 },
    });
    const [a = "", b = ""] = originUrls();
    const leaving = (await register(name, token, a)).id;
    await register(name, token, b);
    // The snapshot is taken at (or just after) warmAt, the warm request's start.
    const warmAt = Date.now();
    const held = (await routed(`http://mesh.test/${name}/warm`)).snapshotVersion;
    const stub = stubFor(name);
    // Straight to the coordinator, so this isolate's cache is not dropped as an API call would.
    expect(await stub.deregister(leaving)).toBe(true);
    vi.useFakeTimers({ toFake: ["Date"] });
    // 1.6 s on: past the TTL, short of the 2 s after which a request waits.
    vi.setSystemTime(warmAt + 1_600);
    const newer = (await stub.describe()).snapshotVersion;
    expect(newer).not.toBe(held);
    expect((await routed(`http://mesh.test/${name}/busy`)).snapshotVersion).toBe(held);
    // The refresh it started in the background has landed for the next one.
    expect((await routed(`http://mesh.test/${name}/busy`)).snapshotVersion).toBe(newer);
  });
});
