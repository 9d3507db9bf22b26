import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KEY } from "../../../src/registry/keys.js";
import { ADMIN, createService, json, mesh, originUrls, register, uniqueName } from "../helpers.js";

/**
 * Locality, priority levels and the fallback hop through the real API and
 * router (workerd), with real loopback origins. `request.cf` is set per
 * request: a Request built with `cf` carries it into the Worker. The first
 * test pays the cold start, which took up to 18 s on a loaded 2-core machine.
 */

const LONDON = { latitude: 51.5074, longitude: -0.1278 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };

async function originOf(path: string, cf?: Record<string, string>): Promise<string> {
  const res = await mesh(path, cf === undefined ? {} : { cf });
  expect(res.status).toBe(200);
  return (await res.json<{ origin: string }>()).origin;
}

describe("locality at the router", { timeout: 60_000 }, () => {
  it("proximity: each client gets the origin registered nearest to its cf latitude/longitude", async () => {
    const name = uniqueName("near");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, locality: { mode: "proximity" } });
    const [london, newYork] = originUrls();
    if (london === undefined || newYork === undefined) throw new Error("two loopback origins needed");
    await register(name, token, london, { location: LONDON });
    await register(name, token, newYork, { location: NEW_YORK });
    const paris = { latitude: "48.8566", longitude: "2.3522" };
    const boston = { latitude: "42.3601", longitude: "-71.0589" };
    for (let i = 0; i < 6; i++) {
      expect(await originOf(`/${name}/x`, paris)).toBe("wt-1");
      expect(await originOf(`/${name}/x`, boston)).toBe("wt-2");
    }
    // No position: no preference, both serve.
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(await originOf(`/${name}/x`));
    expect(seen.size).toBe(2);
  });

  it("zone: requests prefer the instances whose zone is their cf colo", async () => {
    const name = uniqueName("zone");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, locality: { mode: "zone", key: "colo" } });
    const [lhr, ewr] = originUrls();
    if (lhr === undefined || ewr === undefined) throw new Error("two loopback origins needed");
    await register(name, token, lhr, { zone: "LHR" });
    await register(name, token, ewr, { zone: "EWR" });
    for (let i = 0; i < 6; i++) expect(await originOf(`/${name}/x`, { colo: "EWR" })).toBe("wt-2");
  });

  it("zone by regionCode: an instance registered as \"US-TX\" takes the requests whose cf.country is \"US\" and cf.regionCode \"TX\"", async () => {
    const name = uniqueName("region");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, locality: { mode: "zone", key: "regionCode" } });
    const [tx, ca] = originUrls();
    if (tx === undefined || ca === undefined) throw new Error("two loopback origins needed");
    await register(name, token, tx, { zone: "US-TX" });
    await register(name, token, ca, { zone: "US-CA" });
    // cf.region is the name ("Texas"): only regionCode carries the code, and only with the country is it one region's.
    for (let i = 0; i < 6; i++) expect(await originOf(`/${name}/x`, { country: "US", region: "Texas", regionCode: "TX" })).toBe("wt-1");
    for (let i = 0; i < 6; i++) expect(await originOf(`/${name}/x`, { country: "US", region: "California", regionCode: "CA" })).toBe("wt-2");
  });

  it("zone: an instance registered as \"sjc\" takes requests whose cf colo is \"SJC\", and is still listed as \"sjc\"", async () => {
    const name = uniqueName("zone-case");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, locality: { mode: "zone", key: "colo" } });
    const [sjc, ewr] = originUrls();
    if (sjc === undefined || ewr === undefined) throw new Error("two loopback origins needed");
    const inSjc = await register(name, token, sjc, { zone: "sjc" });
    const inEwr = await register(name, token, ewr, { zone: "ewr" });
    // Compared exactly, "sjc" never equals "SJC": every request would spill over and half would reach wt-2.
    for (let i = 0; i < 6; i++) expect(await originOf(`/${name}/x`, { colo: "SJC" })).toBe("wt-1");
    for (let i = 0; i < 6; i++) expect(await originOf(`/${name}/x`, { colo: "EWR" })).toBe("wt-2");
    const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    const body = await res.json<{ instances: { id: string; zone: string | null }[] }>();
    expect(new Map(body.instances.map((i) => [i.id, i.zone]))).toEqual(new Map([[inSjc.id, "sjc"], [inEwr.id, "ewr"]]));
  });

  it("shows priority and location in the instance listing, and locality in the config", async () => {
    const name = uniqueName("show");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, locality: { mode: "proximity" }, fallbackService: "other-svc" });
    await register(name, token, originUrls()[0] ?? "", { priority: 1, location: LONDON });
    const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    const body = await res.json<{ service: { config: Record<string, unknown> }; instances: Record<string, unknown>[] }>();
    expect(body.service.config.locality).toEqual({ mode: "proximity", minHealthyFraction: 0.5 });
    expect(body.service.config.fallbackService).toBe("other-svc");
    expect(body.instances[0]).toMatchObject({ priority: 1, location: LONDON });
  });

  it("400s: a bad locality names its field; strict mode refuses locality; a service cannot be its own fallback", async () => {
    const name = uniqueName("bad");
    const put = (body: Record<string, unknown>) => mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes: { pathPrefixes: [`/${name}`] }, ...body }));
    const issues = async (res: Response) => {
      expect(res.status).toBe(400);
      return (await res.json<{ issues: { path: string }[] }>()).issues.map((i) => i.path);
    };
    expect(await issues(await put({ locality: { mode: "zone", key: "city" } }))).toEqual(["locality.key"]);
    // The cf field's own spelling only.
    expect(await issues(await put({ locality: { mode: "zone", key: "regioncode" } }))).toEqual(["locality.key"]);
    expect(await issues(await put({ locality: { mode: "proximity" }, routing: { mode: "strict" } }))).toEqual(["locality"]);
    expect(await issues(await put({ fallbackService: name }))).toEqual(["fallbackService"]);
  });
});

describe("priority levels and fallbackService at the router", { timeout: 30_000 }, () => {
  it("a service with no instance hands requests to its fallbackService, once, and the answer comes from there", async () => {
    const standby = uniqueName("fb");
    const { token } = await createService(standby, { routes: { pathPrefixes: [`/${standby}`] } });
    await register(standby, token, originUrls()[2] ?? "");
    const primary = uniqueName("pri");
    await createService(primary, { routes: { pathPrefixes: [`/${primary}`] }, fallbackService: standby });
    const res = await mesh(`/${primary}/items`);
    expect(res.status).toBe(200);
    const echo = await res.json<{ origin: string; path: string }>();
    expect(echo.origin).toBe("wt-3");
    expect(echo.path).toBe(`/${primary}/items`);
  });

  it("one hop only: A → B → A ends in B's 503, not a loop", async () => {
    const a = uniqueName("loop-a");
    const b = uniqueName("loop-b");
    await createService(b, { routes: { pathPrefixes: [`/${b}`] }, fallbackService: a });
    await createService(a, { routes: { pathPrefixes: [`/${a}`] }, fallbackService: b });
    const res = await mesh(`/${a}/x`);
    expect(res.status).toBe(503);
    expect((await res.json<{ error: string; message: string }>()).message).toContain(b);
  });

  it("a hopped request is split by the fallback's own rules, not by the group the first service put it in", async () => {
    // The fallback's canary takes 1 %; the primary's one rule takes every request into its group 0, whose
    // only instance refuses connections. Group 0 must not carry over to the fallback's rule 0.
    const standby = uniqueName("fb-split");
    const { token } = await createService(standby, { routes: { pathPrefixes: [`/${standby}`] }, split: [{ percent: 1, to: { track: "canary" } }] });
    const [canary, stable] = originUrls();
    if (canary === undefined || stable === undefined) throw new Error("two loopback origins needed");
    await register(standby, token, canary, { metadata: { track: "canary" } });
    await register(standby, token, stable, { metadata: { track: "stable" } });
    const primary = uniqueName("pri-split");
    const created = await createService(primary, { routes: { pathPrefixes: [`/${primary}`] }, fallbackService: standby, split: [{ percent: 100, to: { v: "x" } }] });
    await register(primary, created.token, "http://127.0.0.1:9", { metadata: { v: "x" } });
    const origins: string[] = [];
    for (let i = 0; i < 12; i++) origins.push(await originOf(`/${primary}/x`));
    // At 1 %, twelve requests all on the canary has a chance of 10⁻²⁴; most must reach the rest.
    expect(origins.filter((o) => o === "wt-2").length).toBeGreaterThanOrEqual(10);
  });

  it("a fallbackService that does not exist yet: the 503 of today", async () => {
    const name = uniqueName("nofb");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] }, fallbackService: "not-created-yet" });
    const res = await mesh(`/${name}/x`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("standby instances get no traffic while the primary level is healthy", async () => {
    const name = uniqueName("prio");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const [p0, p1] = originUrls();
    if (p0 === undefined || p1 === undefined) throw new Error("two loopback origins needed");
    await register(name, token, p0);
    const standby = await register(name, token, p1, { priority: 1 });
    for (let i = 0; i < 10; i++) expect(await originOf(`/${name}/x`)).toBe("wt-1");
    // The KV mirror carries the level, so routers that fall back to KV keep it.
    const mirrored = await env.REGISTRY.getWithMetadata(KEY.instance(name, standby.id));
    expect(mirrored.metadata).toEqual({ url: p1, weight: 1, zone: null, priority: 1 });
  });

  it("a re-registration that only moves an instance rewrites the location in its KV mirror value", async () => {
    const name = uniqueName("move");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const url = originUrls()[0] ?? "";
    const { id } = await register(name, token, url, { location: LONDON });
    expect(await env.REGISTRY.get(KEY.instance(name, id), "json")).toEqual({ id, url, weight: 1, zone: null, location: LONDON });
    await register(name, token, url, { location: NEW_YORK });
    expect(await env.REGISTRY.get(KEY.instance(name, id), "json")).toEqual({ id, url, weight: 1, zone: null, location: NEW_YORK });
    // Dropping the location drops it from the value too.
    await register(name, token, url);
    expect(await env.REGISTRY.get(KEY.instance(name, id), "json")).toEqual({ id, url, weight: 1, zone: null });
  });
});
