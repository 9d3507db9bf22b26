import { describe, expect, it } from "vitest";
import { createService, type Echo, mesh, originUrls, register, serviceWith, uniqueName } from "../helpers.js";

/** The request target an origin receives, as the loopback origin saw it on the wire (`target`). */
async function targetFor(path: string): Promise<string> {
  const res = await mesh(path);
  expect(res.status).toBe(200);
  return (await res.json<Echo>()).target;
}

describe("the request target sent upstream", () => {
  it("keeps the query exactly, an empty one included", async () => {
    const { name } = await serviceWith(1);
    expect(await targetFor(`/${name}/x?a=1&a=2&b=%20+x&c=%2F&d=%zz`)).toBe(`/${name}/x?a=1&a=2&b=%20+x&c=%2F&d=%zz`);
    // "/x?" and "/x" are different URLs (RFC 3986 §6.2.3 keeps an empty query's "?").
    expect(await targetFor(`/${name}/x?`)).toBe(`/${name}/x?`);
    expect(await targetFor(`/${name}/x`)).toBe(`/${name}/x`);
  });

  it("routes on segment boundaries and keeps encoded slashes and double slashes as they came", async () => {
    const { name } = await serviceWith(1);
    expect((await mesh(`/${name}x/y`)).status).toBe(404);
    expect(await targetFor(`/${name}/a%2Fb//c`)).toBe(`/${name}/a%2Fb//c`);
    // Dot segments, encoded or not, are resolved before routing, so the route matched is the path sent.
    expect(await targetFor(`/${name}/a/%2e%2e/b/./c`)).toBe(`/${name}/b/c`);
  });

  it("routes a prefix the request path carries percent-encoded (non-ASCII, quotes, braces), or with a backslash or a dot segment", async () => {
    const name = uniqueName("enc");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}/café`, `/${name}/{tenant}`, `/${name}/a"b`, `/${name}/x\\y`, `/${name}/d/./e`], stripPrefix: true },
    });
    await register(name, token, originUrls()[0] ?? "");
    // Accepted with 201, each was a 404 no_route for every request a client could send it.
    expect(await targetFor(`/${name}/café/menu?q=1`)).toBe("/menu?q=1");
    expect(await targetFor(`/${name}/caf%C3%A9/menu`)).toBe("/menu");
    expect(await targetFor(`/${name}/{tenant}/x`)).toBe("/x");
    expect(await targetFor(`/${name}/a"b/x`)).toBe("/x");
    expect(await targetFor(`/${name}/x\\y/x`)).toBe("/x");
    expect(await targetFor(`/${name}/d/e/x`)).toBe("/x");
  });

  it("routes a path with percent-encoded unreserved characters (/%61dmin is /admin, RFC 3986 §6.2.2) to the service its route names", async () => {
    const outer = uniqueName("pct");
    const inner = `${outer}/admin`;
    const [first, second] = originUrls();
    const outerToken = (await createService(outer, { routes: { pathPrefixes: [`/${outer}`] } })).token;
    const outerId = (await register(outer, outerToken, first ?? "")).id;
    const innerName = `${outer}-admin`;
    const innerToken = (await createService(innerName, { routes: { pathPrefixes: [`/${inner}`, `/${outer}/café`], stripPrefix: true } })).token;
    const innerId = (await register(innerName, innerToken, second ?? "")).id;
    const answer = async (path: string): Promise<{ instance: string | null; target: string }> => {
      const res = await mesh(path);
      expect(res.status, path).toBe(200);
      return { instance: res.headers.get("x-mesh-instance"), target: (await res.json<Echo>()).target };
    };
    // An origin decodes %61 to "a": sent to the outer service, /admin's requests escaped its route (and its auth.jwt, rateLimits).
    expect(await answer(`/${outer}/%61dmin/x%2Fy?q=%61`)).toEqual({ instance: innerId, target: "/x%2Fy?q=%61" });
    expect(await answer(`/${outer}/adm%69n`)).toEqual({ instance: innerId, target: "/" });
    expect(await answer(`/${outer}/%61dmin%7Ex`)).toEqual({ instance: outerId, target: `/${outer}/%61dmin%7Ex` });
    // Hex digits in either case are one octet (§6.2.2.1).
    expect(await answer(`/${outer}/caf%c3%a9/menu`)).toEqual({ instance: innerId, target: "/menu" });
    // A reserved character stays encoded: %2F is not a segment boundary.
    expect(await answer(`/${outer}/admin%2Fx`)).toEqual({ instance: outerId, target: `/${outer}/admin%2Fx` });
  });
});
