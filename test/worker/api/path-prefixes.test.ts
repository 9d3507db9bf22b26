import { describe, expect, it } from "vitest";
import { ADMIN, createService, type Echo, json, mesh, originUrls, register, uniqueName } from "../helpers.js";

/**
 * A path prefix is matched against the request's path as the URL parser gives it: percent-encoded
 * (clients send `/caf%C3%A9`, never raw `é`), with dot segments resolved and `\` read as `/`. A prefix
 * written another way was accepted and could then never match a request: a route that 404s everything
 * it was meant to take, and a rate limit that never counts a request.
 */

interface ServiceView {
  service: { config: { routes: { pathPrefixes: string[] }; rateLimits?: { match?: { pathPrefix?: string } }[] } };
}

describe("path prefixes are stored as request paths carry them", () => {
  it("a prefix with characters a URL path percent-encodes routes the requests under it, and GET shows it encoded", async () => {
    const name = uniqueName("pfx");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}/café`, `/${name}/{tenant}`] } });
    await register(name, token, originUrls()[0] ?? "");

    const res = await mesh(`/${name}/café/menu`);
    expect(res.status).toBe(200);
    expect((await res.json<Echo>()).path).toBe(`/${name}/caf%C3%A9/menu`);
    expect((await mesh(`/${name}/{tenant}/x`)).status).toBe(200);

    const view = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<ServiceView>();
    expect(view.service.config.routes.pathPrefixes).toEqual([`/${name}/caf%C3%A9`, `/${name}/%7Btenant%7D`]);
  });

  it("dot segments and backslashes are resolved as the request's path resolves them", async () => {
    const name = uniqueName("pfx");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}/a/../b`, `/${name}/c\\d`] } });
    await register(name, token, originUrls()[0] ?? "");
    expect((await mesh(`/${name}/b/x`)).status).toBe(200);
    expect((await mesh(`/${name}/c/d/x`)).status).toBe(200);
    const view = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<ServiceView>();
    expect(view.service.config.routes.pathPrefixes).toEqual([`/${name}/b`, `/${name}/c/d`]);
  });

  it("a prefix that resolves to /_mesh is refused like /_mesh itself, naming the field", async () => {
    const name = uniqueName("pfx");
    const res = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes: { pathPrefixes: ["/x/../_mesh/v1"] } }));
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; issues: { path: string; message: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues[0]?.path).toBe("routes.pathPrefixes.0");
  });

  it("a rate limit on a prefix with non-ASCII characters counts the requests under it", async () => {
    const name = uniqueName("pfx");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      rateLimits: [{ name: "menu", key: "service", ratePerSecond: 0.001, burst: 1, match: { pathPrefix: `/${name}/café` } }],
    });
    await register(name, token, originUrls()[0] ?? "");
    expect((await mesh(`/${name}/café/1`)).status).toBe(200);
    expect((await mesh(`/${name}/café/2`)).status).toBe(429);
    // Other paths of the service are not counted.
    expect((await mesh(`/${name}/other`)).status).toBe(200);
    const view = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<ServiceView>();
    expect(view.service.config.rateLimits?.[0]?.match?.pathPrefix).toBe(`/${name}/caf%C3%A9`);
  });
});
