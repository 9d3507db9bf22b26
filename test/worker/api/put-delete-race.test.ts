import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServiceRecord } from "../../../src/core/schema/service.js";
import { ADMIN, flushRouteIndex, originUrls, stubFor, uniqueName, meshUnlimited } from "../helpers.js";

/**
 * A PUT that replaces a service and a DELETE of it, at once. They take turns in the service's
 * coordinator (coordinator/admin-writes.ts), and whichever goes first, the service must end
 * whole or gone: never a coordinator that holds a config (and keeps its health alarm armed,
 * unseen by the sweep, which walks KV's records) for a service KV no longer has. Rate limits
 * are off here: the calls are many and at once.
 */
const mesh = meshUnlimited;

const put = (name: string, prefix: string) =>
  mesh(`/_mesh/v1/services/${name}`, { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ routes: { pathPrefixes: [prefix] } }) });

async function created(): Promise<string> {
  const name = uniqueName("race");
  const res = await put(name, `/${name}`);
  const { registrationToken } = await res.json<{ registrationToken: string }>();
  const reg = await mesh(`/_mesh/v1/services/${name}/instances`, {
    method: "POST",
    headers: { authorization: `Bearer ${registrationToken}`, "content-type": "application/json" },
    body: JSON.stringify({ url: originUrls()[0] }),
  });
  expect(reg.status).toBe(201);
  return name;
}

/** Whole (KV record and coordinator config) or gone (neither); anything else is a half-deleted service. */
async function expectWholeOrGone(name: string): Promise<"whole" | "gone"> {
  const inKv = (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).status;
  const coordinator = (await stubFor(name).describe()).service;
  expect([inKv, coordinator]).toSatisfy(([s, c]: [number, string | null]) => (s === 200 && c === name) || (s === 404 && c === null));
  return inKv === 200 ? "whole" : "gone";
}

describe("PUT and DELETE of one service at once", () => {
  it("a PUT that finds the record of a service its coordinator has deleted creates it anew, with a new token", async () => {
    const name = await created();
    const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    if (record === null) throw new Error("no record");
    // The coordinator holds the tombstone, and the record is still in KV: a DELETE whose route or
    // KV step failed (its caller told to DELETE again), or a KV read that lags the delete.
    await stubFor(name).destroy(record.updatedAt, name);
    const res = await put(name, `/${name}-v2`);
    expect(res.status).toBe(201);
    const body = await res.json<{ registrationToken: string; service: { createdAt: string } }>();
    expect(body.registrationToken).toMatch(/^sy_/);
    expect(Date.parse(body.service.createdAt)).toBeGreaterThanOrEqual(record.createdAt);
    const stored = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    expect(stored?.tokenHash).not.toBe(record.tokenHash);
    expect(await expectWholeOrGone(name)).toBe("whole");
    // The new routes are served, the deleted service's are not.
    await flushRouteIndex();
    expect(await (await mesh(`/${name}/x`)).json()).toMatchObject({ error: "no_route" });
    expect(await (await mesh(`/${name}-v2/x`)).json()).toMatchObject({ error: "no_healthy_instance" });
    // A DELETE then removes it whole.
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect(await expectWholeOrGone(name)).toBe("gone");
    await flushRouteIndex();
    for (const path of [`/${name}/x`, `/${name}-v2/x`]) expect(await (await mesh(path)).json()).toMatchObject({ error: "no_route" });
  });

  it("ends whole or gone, whatever the interleaving", async () => {
    for (let i = 0; i < 8; i++) {
      const name = await created();
      const [p, d] = await Promise.all([put(name, `/${name}-v2`), mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })]);
      // 200: the PUT went first, and the DELETE removed what it wrote; 201: the DELETE went first, and the PUT created the service anew.
      expect([200, 201]).toContain(p.status);
      expect(d.status).toBe(200);
      await expectWholeOrGone(name);
    }
  });
});
