import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { KEY } from "../../../src/registry/keys.js";
import { ADMIN, createService, json, mesh, uniqueName } from "../helpers.js";

/**
 * A `service:<name>` value the mesh did not write (edited by hand, or
 * damaged): every call that reads it answers a typed 500 naming the key and
 * the way out, the service list still shows every other service, and PUT and
 * DELETE repair it (src/registry/kv-registry.ts, RecordUnreadable).
 */
const damaged: string[] = [];

async function damage(value: string): Promise<string> {
  const name = uniqueName("damaged");
  await env.REGISTRY.put(KEY.service(name), value);
  damaged.push(name);
  return name;
}

describe("a damaged service record", () => {
  beforeAll(async () => {
    // The route registry loads existing records on its first call (an upgrade path): let it do so before any record is damaged.
    const first = uniqueName("intact");
    await createService(first, { routes: { pathPrefixes: [`/${first}`] } });
  });

  afterEach(async () => {
    // Not left for other tests: the sweep and a fresh registry read every record.
    for (const name of damaged.splice(0)) await env.REGISTRY.delete(KEY.service(name));
  });

  it.each([
    ["not JSON", "{not json"],
    ["JSON without a config", JSON.stringify({ name: "x", tokenHash: "ab", updatedAt: 1 })],
    ["a JSON string", JSON.stringify("service")],
    ["a config that is not one", JSON.stringify({ name: "x", config: { routes: "everything" }, tokenHash: "ab", createdAt: 1, updatedAt: 1 })],
    ["no creation time", JSON.stringify({ name: "x", config: { routes: { pathPrefixes: ["/x"] } }, tokenHash: "ab", updatedAt: 1 })],
  ])("is a typed 500 record_unreadable when read (%s), naming its key and the way out", async (_why, value) => {
    const name = await damage(value);
    const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect(res.status).toBe(500);
    const body = await res.json<{ error: string; message: string }>();
    expect(body.error).toBe("record_unreadable");
    expect(body.message).toContain(KEY.service(name));
    expect(body.message).toContain("PUT the service again");
    // A registration for it is refused the same way, not with a crash.
    const reg = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url: "https://a.example.com" }, { authorization: "Bearer whatever" }));
    expect(reg.status).toBe(500);
    expect((await reg.json<{ error: string }>()).error).toBe("record_unreadable");
  });

  it("does not hide the other services from the list: it is named apart", async () => {
    const intact = uniqueName("intact");
    await createService(intact, { routes: { pathPrefixes: [`/${intact}`] } });
    const name = await damage("{not json");
    // Valid JSON with every field the shallow check looked for, but a time no Date can hold: the list answered 500.
    const timeless = await damage(JSON.stringify({ name: "x", config: { routes: { pathPrefixes: ["/x"] } }, tokenHash: "ab", createdAt: 1e300, updatedAt: 1 }));
    const res = await mesh("/_mesh/v1/services", { headers: ADMIN });
    expect(res.status).toBe(200);
    const body = await res.json<{ services: { name: string }[]; unreadable?: string[] }>();
    expect(body.services.map((s) => s.name)).toContain(intact);
    expect(body.services.map((s) => s.name)).not.toContain(name);
    expect(body.unreadable).toEqual([name, timeless].sort());
  });

  it("is seen as soon as it is stored, after the same record was read intact (parsed records are kept per isolate by their text)", async () => {
    const name = uniqueName("later");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const intact = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect(intact.status).toBe(200);
    await intact.arrayBuffer();
    // Changed by hand to another valid config: the next read shows it, not the parsed copy of the old text.
    const stored = await env.REGISTRY.get<{ config: { routes: { pathPrefixes: string[] } } }>(KEY.service(name), "json");
    if (stored === null) throw new Error("record missing");
    await env.REGISTRY.put(KEY.service(name), JSON.stringify({ ...stored, config: { ...stored.config, balancer: "random" } }));
    damaged.push(name);
    const changed = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect((await changed.json<{ service: { config: { balancer: string } } }>()).service.config.balancer).toBe("random");
    // Then damaged: the next read is the typed 500.
    await env.REGISTRY.put(KEY.service(name), "{not json");
    const broken = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect(broken.status).toBe(500);
    expect((await broken.json<{ error: string }>()).error).toBe("record_unreadable");
  });

  it("is a record copied under another service's key: refused, not served as the service it names", async () => {
    const original = uniqueName("orig");
    await createService(original, { routes: { pathPrefixes: [`/${original}`] } });
    const copied = await damage((await env.REGISTRY.get(KEY.service(original), "text")) ?? "");
    const res = await mesh(`/_mesh/v1/services/${copied}`, { headers: ADMIN });
    expect(res.status).toBe(500);
    const body = await res.json<{ error: string; message: string }>();
    expect(body.error).toBe("record_unreadable");
    expect(body.message).toContain(`names another service ("${original}")`);
  });

  it("is replaced by a PUT, with a new registration token that then works", async () => {
    const name = await damage("{not json");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    let token: string;
    try {
      const res = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes: { pathPrefixes: [`/${name}`] } }));
      expect(res.status).toBe(201);
      token = (await res.json<{ registrationToken: string }>()).registrationToken;
      expect(warn.mock.calls.some(([line]) => String(line).includes('"service_record_replaced"'))).toBe(true);
    } finally {
      warn.mockRestore();
    }
    const stored = await env.REGISTRY.get<{ name: string; tokenHash: string }>(KEY.service(name), "json");
    expect(stored?.name).toBe(name);
    const reg = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url: "https://a.example.com" }, { authorization: `Bearer ${token}` }));
    expect(reg.status).toBe(201);
    await reg.arrayBuffer();
    // Clean up through the API like any service.
    const del = await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN });
    expect(del.status).toBe(200);
    await del.arrayBuffer();
  });

  it("is removed by a DELETE, and its route is free again", async () => {
    const owner = uniqueName("owner");
    await createService(owner, { routes: { pathPrefixes: [`/${owner}`] } });
    // The record is damaged after the service was created normally: its routes are claimed.
    await env.REGISTRY.put(KEY.service(owner), "{not json");
    damaged.push(owner);
    const res = await mesh(`/_mesh/v1/services/${owner}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: owner });
    expect(await env.REGISTRY.get(KEY.service(owner))).toBeNull();
    const next = uniqueName("next");
    const put = await mesh(`/_mesh/v1/services/${next}`, json("PUT", { routes: { pathPrefixes: [`/${owner}`] } }));
    expect(put.status).toBe(201);
    await put.arrayBuffer();
  });
});
