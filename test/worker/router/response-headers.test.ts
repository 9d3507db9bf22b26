import { describe, expect, it } from "vitest";
import { ADMIN, type Echo, json, mesh, serviceWith, uniqueName } from "../helpers.js";

/**
 * `responseHeaders` (docs/api.md, "Response headers") through the real API and
 * router, with the loopback origins: "mesh" (the default) adds x-mesh-instance
 * and x-mesh-attempts, "none" adds nothing, and either way the origin's
 * hop-by-hop headers never reach the client.
 */

const HOP_BY_HOP = { "x-origin-fault": "hop-by-hop-headers" };

function expectNoHopByHop(res: Response): void {
  for (const name of ["x-origin-private", "proxy-authenticate", "trailer", "upgrade", "keep-alive"]) {
    expect(res.headers.get(name), name).toBeNull();
  }
  // The origin's end-to-end headers still arrive.
  expect(res.headers.get("x-origin-kept")).toBe("1");
}

describe("responseHeaders", { timeout: 30_000 }, () => {
  it("defaults to mesh, shows it in GET /services/{name}, and adds the two headers", async () => {
    const { name, ids } = await serviceWith(1);
    const got = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect((await got.json<{ service: { config: { responseHeaders: string } } }>()).service.config.responseHeaders).toBe("mesh");
    const res = await mesh(`/${name}/a`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-mesh-instance")).toBe(ids[0]);
    expect(res.headers.get("x-mesh-attempts")).toBe("1");
    await res.arrayBuffer();
  });

  it('"none" relays the origin\'s answer without the x-mesh-* headers, body and status intact', async () => {
    const { name } = await serviceWith(1, { responseHeaders: "none" });
    const got = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect((await got.json<{ service: { config: { responseHeaders: string } } }>()).service.config.responseHeaders).toBe("none");
    const res = await mesh(`/${name}/items/7?x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-mesh-instance")).toBeNull();
    expect(res.headers.get("x-mesh-attempts")).toBeNull();
    expect(res.headers.get("x-origin")).not.toBeNull();
    expect(await res.json<Echo>()).toMatchObject({ method: "GET", path: `/${name}/items/7`, query: "?x=1" });

    const head = await mesh(`/${name}/items/7`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-mesh-instance")).toBeNull();
    expect(head.headers.get("x-origin")).not.toBeNull();
  });

  it("strips the origin's hop-by-hop headers with either value", async () => {
    for (const responseHeaders of ["mesh", "none"]) {
      const { name } = await serviceWith(1, { responseHeaders });
      const res = await mesh(`/${name}/a`, { headers: HOP_BY_HOP });
      expect(res.status).toBe(200);
      expectNoHopByHop(res);
      expect(await res.text()).toBe("hop-by-hop");
      expect(res.headers.get("x-mesh-instance") === null).toBe(responseHeaders === "none");

      const head = await mesh(`/${name}/a`, { method: "HEAD", headers: HOP_BY_HOP });
      if (head.status !== 200) throw new Error(`${responseHeaders}: ${head.status} ${JSON.stringify([...head.headers])}`);
      expectNoHopByHop(head);
    }
  });

  it('"none" still sends the session-affinity pin', async () => {
    const { name } = await serviceWith(2, { responseHeaders: "none", affinity: { mode: "cookie" } });
    const res = await mesh(`/${name}/a`);
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/^__mesh_affinity=/);
    expect(res.headers.get("x-mesh-instance")).toBeNull();
    await res.arrayBuffer();
  });

  it("400s a value it does not know, naming the field", async () => {
    const name = uniqueName("rh");
    const res = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes: { pathPrefixes: [`/${name}`] }, responseHeaders: "all" }));
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; issues: { path: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues.map((i) => i.path)).toEqual(["responseHeaders"]);
    expect(JSON.stringify(body)).not.toContain("at ");
  });
});
