import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ServiceRecord } from "../../../src/core/schema/service.js";
import { invalidateRouteCache } from "../../../src/edge/cache/route-cache.js";
import { routeRegistry } from "../../../src/registry/route-registry.js";
import { ADMIN, flushRouteIndex, originUrls, stubFor, uniqueName, meshUnlimited } from "../helpers.js";

/**
 * Admin writes of one service (PUT, DELETE, token rotation) that overlap. The
 * service's config lives in three stores: its KV record, its coordinator and
 * the route registry. Whatever the overlap, they must end agreeing on one of
 * the writes, and a reply the caller got (a rotated token) must not be undone
 * by a write that started before it. Rate limits are off: the calls are many
 * and at once.
 */
const call = meshUnlimited;

/** A config told apart from the others by its path prefix and its health-check path. */
const put = (name: string, tag: string) =>
  call(`/_mesh/v1/services/${name}`, {
    method: "PUT",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ routes: { pathPrefixes: [`/${name}-${tag}`] }, healthCheck: { path: `/health-${tag}` } }),
  });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Holds the route registry for `ms`: every claim sent meanwhile waits and then runs, in the order it
 * came. Resolves once the hold has begun, with the hold's end.
 */
async function holdRegistry(ms: number): Promise<{ released: Promise<void> }> {
  let begun = false;
  const released = runInDurableObject(routeRegistry(env), (_i, state) =>
    state.blockConcurrencyWhile(async () => {
      begun = true;
      await sleep(ms);
    }),
  );
  while (!begun) await sleep(1);
  return { released };
}

/** The path prefix each store holds for `name` (null: none). */
async function stores(name: string): Promise<{ kv: string | null; coordinator: string | null; registry: string | null; healthPath: string | null }> {
  const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
  const config = await runInDurableObject(stubFor(name), (_i, state) =>
    state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'config'").toArray()[0]?.value ?? null,
  );
  const routed = await runInDurableObject(routeRegistry(env), (_i, state) =>
    state.storage.sql.exec<{ body: string }>("SELECT body FROM routed WHERE name = ?", name).toArray()[0]?.body ?? null,
  );
  type Prefixed = { routes: { pathPrefixes: string[] } };
  const coordinatorConfig = config === null ? null : (JSON.parse(config) as Prefixed & { healthCheck: { path: string } });
  return {
    kv: record?.config.routes.pathPrefixes[0] ?? null,
    coordinator: coordinatorConfig?.routes.pathPrefixes[0] ?? null,
    registry: routed === null ? null : ((JSON.parse(routed) as Prefixed).routes.pathPrefixes[0] ?? null),
    healthPath: coordinatorConfig?.healthCheck.path ?? null,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("overlapping admin writes of one service", { timeout: 60_000 }, () => {
  it("concurrent PUTs leave the KV record, the coordinator and the route index on the same config", async () => {
    for (let round = 0; round < 3; round++) {
      const name = uniqueName("puts");
      expect((await put(name, "0")).status).toBe(201);
      // One clock reading for every PUT (workerd's clock stands still between I/O, so requests that
      // arrive together read the same millisecond), and the registry held so that all of them overlap.
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 1_000);
      const hold = await holdRegistry(150);
      const tags = ["1", "2", "3", "4"];
      const replies = await Promise.all(tags.map((tag) => put(name, tag)));
      await hold.released;
      vi.useRealTimers();
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);

      const s = await stores(name);
      expect(tags.map((t) => `/${name}-${t}`)).toContain(s.kv);
      expect({ coordinator: s.coordinator, registry: s.registry }).toEqual({ coordinator: s.kv, registry: s.kv });
      expect(s.healthPath).toBe(`/health-${(s.kv ?? "").slice(name.length + 2)}`);
      // The data plane routes the winner only, in this isolate and from KV.
      await flushRouteIndex();
      invalidateRouteCache();
      for (const tag of tags) {
        const routed = `/${name}-${tag}` === s.kv;
        expect((await call(`/${name}-${tag}/x`)).status).toBe(routed ? 503 : 404);
      }
    }
  });

  it("concurrent PUTs creating one service: one creates it (201), and the token it answered is the one that works", async () => {
    const name = uniqueName("creates");
    const hold = await holdRegistry(100);
    const replies = await Promise.all(["1", "2", "3"].map((tag) => put(name, tag)));
    await hold.released;
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 201]);
    const created = replies.find((r) => r.status === 201);
    const { registrationToken } = (await created?.json<{ registrationToken: string }>()) ?? { registrationToken: "" };
    const reg = await call(`/_mesh/v1/services/${name}/instances`, {
      method: "POST",
      headers: { authorization: `Bearer ${registrationToken}`, "content-type": "application/json" },
      body: JSON.stringify({ url: originUrls()[0] }),
    });
    expect(reg.status).toBe(201);
  });

  it("PUTs, DELETEs and rotations at once leave the service whole in every store, or gone from every store", async () => {
    for (let round = 0; round < 4; round++) {
      const name = uniqueName("mix");
      expect((await put(name, "0")).status).toBe(201);
      const hold = await holdRegistry(100);
      const rotate = () => call(`/_mesh/v1/services/${name}/registration-token:rotate`, { method: "POST", headers: ADMIN });
      const remove = () => call(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN });
      const ops = round % 2 === 0 ? [put(name, "1"), remove(), put(name, "2"), rotate()] : [put(name, "1"), rotate(), put(name, "2"), remove()];
      const replies = await Promise.all(ops);
      await hold.released;
      for (const r of replies) expect([200, 201, 404]).toContain(r.status);

      const s = await stores(name);
      const listed = (await (await call("/_mesh/v1/services", { headers: ADMIN })).json<{ services: { name: string }[] }>()).services.some((x) => x.name === name);
      if (s.kv === null) {
        expect({ ...s, listed }).toEqual({ kv: null, coordinator: null, registry: null, healthPath: null, listed: false });
      } else {
        expect({ coordinator: s.coordinator, registry: s.registry, listed }).toEqual({ coordinator: s.kv, registry: s.kv, listed: true });
      }
    }
  });

  it("a token rotation that answers while a PUT is under way is not undone by that PUT", async () => {
    const name = uniqueName("rot");
    const created = await put(name, "0");
    const { registrationToken: first } = await created.json<{ registrationToken: string }>();
    const hold = await holdRegistry(300);
    // The PUT has read the record (with the first token) and waits for its route claim.
    const replaced = put(name, "1");
    await sleep(30);
    const rotated = await call(`/_mesh/v1/services/${name}/registration-token:rotate`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ graceSeconds: 0 }),
    });
    expect(rotated.status).toBe(200);
    const { registrationToken: second } = await rotated.json<{ registrationToken: string }>();
    expect((await replaced).status).toBe(200);
    await hold.released;

    const register = (token: string) =>
      call(`/_mesh/v1/services/${name}/instances`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: originUrls()[0] }),
      });
    // The rotation answered last, so its token is the one that works (grace 0: the first no longer does).
    expect((await register(second)).status).toBe(201);
    expect((await register(first)).status).toBe(401);
    expect((await stores(name)).kv).toBe(`/${name}-1`);
  });
});
