import { afterEach, describe, expect, it, vi } from "vitest";
import { createService, exchange, originUrls, register, resetOrigins, stubFor, uniqueName } from "../helpers.js";

/**
 * A local mark (src/core/local-health/local-pick.ts) against a new snapshot
 * version that is about another instance: the coordinator has not judged
 * the marked one (its probes are an hour apart here, and one failure is
 * below the service's ejection threshold), so the mark must stand and no
 * request may go back to the dead origin while it lasts.
 */

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

interface Routed {
  status: number;
  instance: string | null;
  attempts: string | null;
  snapshotVersion: unknown;
}

// Location sharing off: with the clock frozen below, the location's Cache API copy would never age, and this
// test is about one isolate's own marks.
async function routed(url: string): Promise<Routed> {
  const { res, logs } = await exchange(url, {}, (r) => r.arrayBuffer(), { SNAPSHOT_SHARING: "off" });
  const event = logs.find((e) => e.event === "request");
  return { status: res.status, instance: res.headers.get("x-mesh-instance"), attempts: res.headers.get("x-mesh-attempts"), snapshotVersion: event?.snapshotVersion };
}

describe("local marks across snapshot versions", () => {
  // Each request waits out its outcome report's flush (1 s, held by waitUntil), hence the clock below and this limit.
  it("a new version about another instance keeps the mark: no request goes back to the dead origin while it lasts", { timeout: 60_000 }, async () => {
    const name = uniqueName("mk");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      healthCheck: { intervalSeconds: 3600, timeoutMs: 500 },
    });
    const [b = "", c = ""] = originUrls();
    // Nothing listens on port 1: every try there is a refused connection, which marks the instance at once.
    const dead = (await register(name, token, "http://127.0.0.1:1")).id;
    await register(name, token, b);
    const leaving = (await register(name, token, c)).id;
    // Frozen clock: the mark (2 s) cannot run out while the test runs, however slow the machine.
    vi.useFakeTimers({ toFake: ["Date"] });
    const frozenAt = Date.now();
    vi.setSystemTime(frozenAt);

    // Round-robin over three: within three requests one tries the dead origin first and fails over.
    let failedOver = false;
    for (let i = 0; i < 3 && !failedOver; i++) {
      const r = await routed(`http://mesh.test/${name}/first`);
      expect(r.status).toBe(200);
      failedOver = r.attempts === "2";
    }
    expect(failedOver).toBe(true);
    const held = (await routed(`http://mesh.test/${name}/held`)).snapshotVersion;

    // A change the coordinator makes about another instance: straight to it, so this isolate keeps its state
    // (an API call in this isolate would drop it, as it drops the location's copy).
    const stub = stubFor(name);
    expect(await stub.deregister(leaving)).toBe(true);
    const view = await stub.describe();
    expect(view.snapshotVersion).not.toBe(held);
    expect(view.instances.find((i) => i.id === dead)?.state).toBe("healthy");

    // 1.2 s on: past the snapshot's 1 s TTL, so the next request refreshes (behind it); still within the 2 s mark.
    vi.setSystemTime(frozenAt + 1_200);
    const after: Routed[] = [];
    for (let i = 0; i < 6; i++) after.push(await routed(`http://mesh.test/${name}/after`));
    // The dead origin got no try: every answer came from the first instance tried...
    expect(after.map((r) => [r.status, r.attempts])).toEqual(Array.from({ length: 6 }, () => [200, "1"]));
    expect(after.map((r) => r.instance)).not.toContain(dead);
    // ...though the requests after the refresh routed from the new version.
    expect(after.map((r) => r.snapshotVersion)).toContain(view.snapshotVersion);
  });
});
