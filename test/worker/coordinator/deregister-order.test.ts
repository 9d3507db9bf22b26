import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ServiceRecord } from "../../../src/core/schema/service.js";
import { createService, originUrls, register, stubFor, uniqueName } from "../helpers.js";

/**
 * A deregistration that arrives while a registration of the same instance is still writing its KV
 * mirror (a re-registration that changes its weight, an origin whose client sends its shutdown DELETE
 * without waiting for the POST) takes effect after that registration, in the order the two arrived.
 * Run in between, the DELETE marked the member draining and deleted its mirror key, and the
 * registration then finished on top of it: the DELETE answered 200 "draining" while the instance
 * stayed active and routed, without its KV mirror key.
 */
describe("a DELETE of an instance whose registration is in flight", () => {
  it("leaves it draining, out of the snapshot and unmirrored, as the DELETE answered", async () => {
    const name = uniqueName("dro");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const url = originUrls()[0] ?? "";
    const { id } = await register(name, token, url);

    // Both started in one event of the object, the registration first, as two calls that arrive in that
    // order and meet while the first awaits (its instance id's digest, then its mirror write): its weight
    // changed, so it writes the mirror before it commits.
    const stub = stubFor(name);
    const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    if (record === null) throw new Error("no service record");
    const [registered, deregistered] = await runInDurableObject(stub, (coordinator) =>
      Promise.all([
        coordinator.register(name, record.config, record.updatedAt, { url, weight: 5, zone: null, metadata: null, ttlSeconds: null }),
        coordinator.deregister(id),
      ]),
    );
    expect(registered).toMatchObject({ ok: true, id, created: false });
    expect(deregistered).toBe(true);

    expect((await stub.describe()).instances.map((i) => [i.id, i.state])).toEqual([[id, "draining"]]);
    expect((await stub.snapshot())?.instances).toEqual([]);
    expect((await env.REGISTRY.list({ prefix: `instance:${name}:` })).keys).toEqual([]);
  });
});
