import { afterEach, describe, expect, it, vi } from "vitest";
import { createService, json, mesh, originUrls, register, resetOrigins, stubFor, uniqueName } from "../helpers.js";

afterEach(async () => {
  vi.useRealTimers();
  await resetOrigins();
});

describe("a heartbeat that shortens a lease", () => {
  it("after the service's lease TTL is lowered, the member leaves the snapshot when its new, shorter lease lapses", async () => {
    const name = uniqueName("shorter");
    const routes = { pathPrefixes: [`/${name}`] };
    // Health rounds every 30 s, so the runtime's own (real-time) alarm does not run during the test.
    const healthCheck = { intervalSeconds: 30 };
    const { token } = await createService(name, { routes, healthCheck, lease: { ttlSeconds: 60 } });
    const [a = ""] = originUrls();
    const { id } = await register(name, token, a);
    const stub = stubFor(name);
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await stub.snapshot())?.instances.map((i) => i.id)).toEqual([id]);

    const put = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes, healthCheck, lease: { ttlSeconds: 10 } }));
    expect(put.status).toBe(200);
    // The config change rebuilt the snapshot; the member's lease still ends 60 s after it registered.
    const held = await stub.snapshot();
    expect(held?.instances.map((i) => i.id)).toEqual([id]);

    // The renewal takes the new TTL: the lease now ends 10 s from here, 50 s before the kept snapshot would.
    const renewed = await stub.heartbeat(id);
    expect(renewed?.leaseExpiresAt).toBe(Date.now() + 10_000);

    vi.setSystemTime(Date.now() + 11_000);
    const after = await stub.snapshot(held?.version);
    // The kept snapshot was valid until the old lease end and still routed the lapsed member (a null here, "unchanged").
    expect(after?.instances.map((i) => i.id)).toEqual([]);
  });
});
