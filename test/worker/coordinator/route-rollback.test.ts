import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { releaseRoutes } from "../../../src/coordinator/outbound/route-claims.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { routedService } from "../../../src/registry/route-index.js";
import { ROUTE_CHANGE_HOLD_MS, routeRegistry } from "../../../src/registry/route-registry.js";
import { sweepAll } from "../../../src/sweep/sweep.js";
import { createService, json, mesh, uniqueName } from "../helpers.js";

/** A write the admin queue has not moved on past: here the release runs on its own, outside any queue. */
const NOT_PASSED = { passed: false };

afterEach(() => {
  vi.useRealTimers();
});

/** The path prefixes the route registry holds for `name` (null: no entry). */
async function held(name: string): Promise<string[] | null> {
  const body = await runInDurableObject(routeRegistry(env), (_i, state) =>
    state.storage.sql.exec<{ body: string }>("SELECT body FROM routed WHERE name = ?", name).toArray()[0]?.body ?? null,
  );
  return body === null ? null : (JSON.parse(body) as { routes: { pathPrefixes: string[] } }).routes.pathPrefixes;
}

describe("putting a route claim back after a PUT's later write failed", () => {
  it("drops the claim when another service took the old routes meanwhile, so no service holds routes no record names", async () => {
    const mover = uniqueName("mover");
    await createService(mover, { routes: { pathPrefixes: [`/${mover}-a`] } });
    // The mover's PUT to /b has claimed it, letting /a go; its record write is about to fail.
    const moved = routedService(mover, serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${mover}-b`] } }));
    const claim = await routeRegistry(env).put(mover, moved);
    expect(claim.conflict).toBeNull();
    // Meanwhile another service takes /a.
    const taker = uniqueName("taker");
    await createService(taker, { routes: { pathPrefixes: [`/${mover}-a`] } });
    // The write fails, and the claim is put back: /a is no longer the mover's to take.
    await releaseRoutes(env, mover, claim.previous, NOT_PASSED);

    // The mover's record still names /a, which the taker owns: it holds no route at all, not /b.
    expect(await held(mover)).toBeNull();
    expect(await held(taker)).toEqual([`/${mover}-a`]);
    const next = uniqueName("next");
    const res = await mesh(`/_mesh/v1/services/${next}`, json("PUT", { routes: { pathPrefixes: [`/${mover}-b`] } }));
    expect(res.status).toBe(201);

    // Past the hold, the sweep's rebuild keeps it so: the mover's record conflicts with the taker's.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + ROUTE_CHANGE_HOLD_MS + 1_000);
    await sweepAll(env, Date.now());
    expect(await held(mover)).toBeNull();
    expect(await held(next)).toEqual([`/${mover}-b`]);
  });

  it("puts the old routes back when nobody took them", async () => {
    const mover = uniqueName("mover");
    await createService(mover, { routes: { pathPrefixes: [`/${mover}-a`] } });
    const claim = await routeRegistry(env).put(mover, routedService(mover, serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${mover}-b`] } })));
    await releaseRoutes(env, mover, claim.previous, NOT_PASSED);
    expect(await held(mover)).toEqual([`/${mover}-a`]);
  });
});
