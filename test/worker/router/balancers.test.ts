import { describe, expect, it } from "vitest";
import { createService, json, mesh, originUrls, register, uniqueName } from "../helpers.js";

/** The balancer field through the real API and router (workerd), with real loopback origins. */

async function serviceWith(balancer: unknown): Promise<string> {
  const name = uniqueName("bal");
  const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, balancer });
  for (const url of originUrls().slice(0, 3)) await register(name, token, url);
  return name;
}

async function originOf(path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await mesh(path, { headers });
  expect(res.status).toBe(200);
  return (await res.json<{ origin: string }>()).origin;
}

describe("balancer field over the API", () => {
  it("400s a non-rotation kind with strict mode, naming `balancer` and saying why", async () => {
    const name = uniqueName("bal");
    const res = await mesh(
      `/_mesh/v1/services/${name}`,
      json("PUT", { routes: { pathPrefixes: [`/${name}`] }, routing: { mode: "strict" }, balancer: "least_request" }),
    );
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; message: string; issues: { path: string; message: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues[0]?.path).toBe("balancer");
    expect(body.issues[0]?.message).toMatch(/strict mode has the coordinator make every pick/);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
  });

  it("400s a bad option with its field path", async () => {
    const name = uniqueName("bal");
    const res = await mesh(
      `/_mesh/v1/services/${name}`,
      json("PUT", { routes: { pathPrefixes: [`/${name}`] }, balancer: { kind: "least_request", choiceCount: 50 } }),
    );
    expect(res.status).toBe(400);
    const body = await res.json<{ issues: { path: string }[] }>();
    expect(body.issues.map((i) => i.path)).toEqual(["balancer.choiceCount"]);
  });

  it("stores and shows the resolved object form, and the plain kind when no option is given", async () => {
    const name = await serviceWith({ kind: "least_request", choiceCount: 3 });
    const view = await mesh(`/_mesh/v1/services/${name}`, { headers: { authorization: "Bearer test-admin-token" } });
    const body = await view.json<{ service: { config: { balancer: unknown } } }>();
    expect(body.service.config.balancer).toEqual({ kind: "least_request", choiceCount: 3, activeRequestBias: 1 });
    const plain = await serviceWith({ kind: "peak_ewma" });
    const plainView = await mesh(`/_mesh/v1/services/${plain}`, { headers: { authorization: "Bearer test-admin-token" } });
    expect((await plainView.json<{ service: { config: { balancer: unknown } } }>()).service.config.balancer).toBe("peak_ewma");
  });
});

// Dozens of sequential requests each: more than the default 5 s on a loaded machine.
describe("hash kinds at the router", { timeout: 30_000 }, () => {
  it("maglev on a cookie: one session, one origin; no cookie, any origin", async () => {
    const name = await serviceWith({ kind: "maglev", hashOn: { cookie: "sid" } });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await originOf(`/${name}/cart`, { cookie: "theme=dark; sid=abc123" }));
    expect(seen.size).toBe(1);
    const anon = new Set<string>();
    for (let i = 0; i < 30; i++) anon.add(await originOf(`/${name}/cart`));
    expect(anon.size).toBeGreaterThan(1);
  });

  it("ring_hash on the query and on the path: the same key, the same origin", async () => {
    const byQuery = await serviceWith({ kind: "ring_hash", hashOn: { query: "user" } });
    const q = new Set<string>();
    for (let i = 0; i < 15; i++) q.add(await originOf(`/${byQuery}/items?user=u42&i=${i}`));
    expect(q.size).toBe(1);
    const byPath = await serviceWith({ kind: "ring_hash", hashOn: "path" });
    const paths = new Map<string, Set<string>>();
    for (let i = 0; i < 24; i++) {
      const p = `/${byPath}/doc/${i % 4}`;
      const set = paths.get(p) ?? new Set<string>();
      set.add(await originOf(p));
      paths.set(p, set);
    }
    for (const set of paths.values()) expect(set.size).toBe(1);
  });
});
