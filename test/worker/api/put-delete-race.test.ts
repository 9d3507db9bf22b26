import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import type { ServiceRecord } from "../../../src/core/schema/service.js";
import { ADMIN, flushRouteIndex, originUrls, stubFor, uniqueName } from "../helpers.js";

/**
 * A PUT that replaces a service and a DELETE of it, at once. Whichever goes first, the
 * service must end whole or gone: never a coordinator that holds a config (and keeps its
 * health alarm armed, unseen by the sweep, which walks KV's records) for a service KV no
 * longer has. Rate limits are off here: the calls are many and at once.
 */
async function mesh(path: string, init: RequestInit<IncomingRequestCfProperties> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://mesh.test${path}`, init), { ...env, CONTROL_PLANE_RATE_LIMITS: "off" }, ctx);
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

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
  it("refuses a PUT whose record was deleted after it was read (409), and leaves the service gone", async () => {
    const name = await created();
    const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    if (record === null) throw new Error("no record");
    // DELETE's first step has run (the coordinator holds the tombstone); its KV delete has not yet.
    await stubFor(name).destroy(record.updatedAt, name);
    const res = await put(name, `/${name}-v2`);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "conflict" });
    expect((await stubFor(name).describe()).service).toBeNull();
    // The DELETE finishes.
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect(await expectWholeOrGone(name)).toBe("gone");
    // Neither the old routes nor the refused PUT's are served.
    await flushRouteIndex();
    for (const path of [`/${name}/x`, `/${name}-v2/x`]) expect(await (await mesh(path)).json()).toMatchObject({ error: "no_route" });
  });

  it("ends whole or gone, whatever the interleaving", async () => {
    for (let i = 0; i < 8; i++) {
      const name = await created();
      const [p, d] = await Promise.all([put(name, `/${name}-v2`), mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })]);
      expect([200, 409]).toContain(p.status);
      expect(d.status).toBe(200);
      await expectWholeOrGone(name);
    }
  });
});
