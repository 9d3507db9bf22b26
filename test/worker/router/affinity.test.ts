import { describe, expect, it } from "vitest";
import { affinityKey, signPin } from "../../../src/core/policy/affinity.js";
import { ADMIN, createService, json, mesh, originUrls, register, uniqueName } from "../helpers.js";

/**
 * Session affinity, canary split and slow start through the real API and
 * router (workerd), with the loopback origins: the cookie and header round
 * trip, forgery refusal, re-pinning after a failed try, draining instances
 * keeping their sessions, and the header rule.
 */

interface Answer {
  origin: string;
  instance: string | null;
  setCookie: string | null;
  pinHeader: string | null;
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await mesh(path, { headers });
  expect(res.status).toBe(200);
  const body = await res.json<{ origin: string }>();
  return { origin: body.origin, instance: res.headers.get("x-mesh-instance"), setCookie: res.headers.get("set-cookie"), pinHeader: res.headers.get("x-mesh-affinity") };
}

/** The value of our cookie in a Set-Cookie line. */
function pinOf(setCookie: string | null): string {
  const m = /^__mesh_affinity=([^;]+);/.exec(setCookie ?? "");
  if (m?.[1] === undefined) throw new Error(`no affinity cookie in ${String(setCookie)}`);
  return m[1];
}

async function service(config: Record<string, unknown>, origins = 3): Promise<{ name: string; token: string; ids: string[] }> {
  const name = uniqueName("pin");
  const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
  const ids: string[] = [];
  for (const url of originUrls().slice(0, origins)) ids.push((await register(name, token, url)).id);
  return { name, token, ids };
}

describe("policy fields over the API", { timeout: 30_000 }, () => {
  it("shows affinity, split and slowStartSeconds resolved in GET /services/{name}", async () => {
    const { name } = await service(
      { affinity: { mode: "cookie", ttlSeconds: 120 }, split: [{ percent: 5, to: { version: "v2" } }], slowStartSeconds: 30 },
      0,
    );
    const res = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    const body = await res.json<{ service: { config: Record<string, unknown> } }>();
    expect(body.service.config.affinity).toEqual({ mode: "cookie", name: "__mesh_affinity", ttlSeconds: 120 });
    expect(body.service.config.split).toEqual([{ percent: 5, to: { version: "v2" } }]);
    expect(body.service.config.slowStartSeconds).toBe(30);
  });

  it("400s bad fields by name, without a stack", async () => {
    const name = uniqueName("pin");
    const res = await mesh(
      `/_mesh/v1/services/${name}`,
      json("PUT", { routes: { pathPrefixes: [`/${name}`] }, affinity: { mode: "cookie", ttlSeconds: -1 }, split: [{ percent: 0, to: { v: "2" } }] }),
    );
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; issues: { path: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues.map((i) => i.path).sort()).toEqual(["affinity.ttlSeconds", "split.0.percent"]);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
  });
});

// Dozens of sequential requests each: more than the default 5 s on a loaded machine.
describe("session affinity at the router", { timeout: 30_000 }, () => {
  it("cookie mode: the first answer pins, the cookie holds the session, and no new cookie is sent while it holds", async () => {
    const { name } = await service({ affinity: { mode: "cookie" } });
    const first = await get(`/${name}/cart`);
    // Scoped to the service's route prefix: another service with affinity on this host keeps its own cookie.
    expect(first.setCookie).toMatch(new RegExp(`^__mesh_affinity=[0-9a-f]{16}\\.[A-Za-z0-9_-]{22}; Max-Age=3600; Path=/${name}; HttpOnly; SameSite=Lax$`));
    const cookie = `theme=dark; __mesh_affinity=${pinOf(first.setCookie)}`;
    for (let i = 0; i < 20; i++) {
      const next = await get(`/${name}/cart`, { cookie });
      expect(next.origin).toBe(first.origin);
      expect(next.setCookie).toBeNull();
    }
  });

  it("refuses a forged value (a known instance id with another's MAC, or a bare id) and re-pins", async () => {
    const { name, ids } = await service({ affinity: { mode: "cookie" } });
    const first = await get(`/${name}/a`);
    const mac = pinOf(first.setCookie).slice(17);
    const other = ids.find((id) => id !== first.instance) ?? "";
    for (const forged of [`${other}.${mac}`, other, "../../etc/passwd"]) {
      const seen = new Set<string>();
      for (let i = 0; i < 9; i++) {
        const res = await get(`/${name}/a`, { cookie: `__mesh_affinity=${forged}` });
        seen.add(res.instance ?? "");
        // Not accepted as a pin: every answer carries a genuine cookie for the instance that answered.
        expect(pinOf(res.setCookie).startsWith(`${res.instance ?? ""}.`)).toBe(true);
      }
      // Round-robin over three origins: a forged pin would have held one.
      expect(seen.size).toBeGreaterThan(1);
    }
  });

  it("header mode: every answer carries the value in the header, and sending it back holds the session", async () => {
    const { name } = await service({ affinity: { mode: "header" } });
    const first = await get(`/${name}/x`);
    expect(first.setCookie).toBeNull();
    const value = first.pinHeader ?? "";
    expect(value).toMatch(/^[0-9a-f]{16}\./);
    for (let i = 0; i < 10; i++) {
      const next = await get(`/${name}/x`, { "x-mesh-affinity": value });
      expect([next.origin, next.pinHeader]).toEqual([first.origin, value]);
    }
  });

  it("a session pinned to an instance that fails is failed over with no client error, and re-pinned", async () => {
    const { name, token, ids } = await service({ affinity: { mode: "cookie" } }, 2);
    // An instance whose port refuses connections; the session holds a genuine value for it
    // (signed with the deployment's key, as the mesh issued it before the instance died).
    const dead = await register(name, token, "http://127.0.0.1:9");
    const value = await signPin(await affinityKey("test-admin-token"), name, dead.id);
    const res = await get(`/${name}/p`, { cookie: `__mesh_affinity=${value}` });
    expect(ids).toContain(res.instance);
    expect(pinOf(res.setCookie).startsWith(`${res.instance ?? ""}.`)).toBe(true);
  });

  it("a draining instance keeps its pinned sessions and gets no new ones", async () => {
    const { name, token } = await service({ affinity: { mode: "cookie" } });
    const first = await get(`/${name}/d`);
    const cookie = `__mesh_affinity=${pinOf(first.setCookie)}`;
    const gone = await mesh(`/_mesh/v1/services/${name}/instances/${first.instance ?? ""}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect(gone.status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await get(`/${name}/d`, { cookie })).instance).toBe(first.instance);
    for (let i = 0; i < 12; i++) expect((await get(`/${name}/d`)).instance).not.toBe(first.instance);
  });
});

describe("affinity after a fallback hop", { timeout: 30_000 }, () => {
  it("header mode: the fallback's value comes under <name>.<fallback>, so a client echoing the header it was given keeps the first service's", async () => {
    const fallback = await service({ affinity: { mode: "header" } });
    // No instance: every request to the primary is handed to the fallback.
    const primary = uniqueName("pin-pri");
    await createService(primary, { routes: { pathPrefixes: [`/${primary}`] }, affinity: { mode: "header" }, fallbackService: fallback.name });
    const hopName = `x-mesh-affinity.${fallback.name}`;
    const first = await mesh(`/${primary}/x`);
    expect(first.status).toBe(200);
    const origin = (await first.json<{ origin: string }>()).origin;
    expect(first.headers.get("x-mesh-affinity")).toBeNull();
    const value = first.headers.get(hopName) ?? "";
    expect(value).toMatch(/^[0-9a-f]{16}\./);
    for (let i = 0; i < 6; i++) {
      const next = await mesh(`/${primary}/x`, { headers: { [hopName]: value } });
      expect([(await next.json<{ origin: string }>()).origin, next.headers.get(hopName)]).toEqual([origin, value]);
    }
    // The fallback's pin under the configured name, as a hop sent it before: not read for a hopped request.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await (await mesh(`/${primary}/x`, { headers: { "x-mesh-affinity": value } })).json<{ origin: string }>()).origin);
    expect(seen.size).toBeGreaterThan(1);
  });
});

describe("canary split at the router", { timeout: 30_000 }, () => {
  it("sends requests with the header rule's header to the labelled canary only", async () => {
    const name = uniqueName("can");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      split: [{ match: { header: { "x-canary": "1" } }, to: { version: "v2" } }],
    });
    const [a, b, c] = originUrls();
    await register(name, token, a ?? "", { metadata: { version: "v1" } });
    await register(name, token, b ?? "", { metadata: { version: "v1" } });
    const canary = await register(name, token, c ?? "", { metadata: { version: "v2" } });
    for (let i = 0; i < 10; i++) expect((await get(`/${name}/k`, { "x-canary": "1" })).instance).toBe(canary.id);
    const rest = new Set<string>();
    for (let i = 0; i < 9; i++) rest.add((await get(`/${name}/k`)).instance ?? "");
    expect(rest.size).toBe(3);
  });

  // HTTP strips whitespace around every header value (RFC 9110 §5.5; Fetch's Headers do too), so a rule
  // kept with it compared "1 " with a request's "1" and took no request at all.
  it("a header rule whose value has whitespace around it takes the requests carrying that header, and shows the value trimmed", async () => {
    const name = uniqueName("can");
    const { token } = await createService(name, {
      routes: { pathPrefixes: [`/${name}`] },
      split: [{ match: { header: { "x-canary": " 1\t" } }, to: { version: "v2" } }],
    });
    const [a, b] = originUrls();
    await register(name, token, a ?? "", { metadata: { version: "v1" } });
    const canary = await register(name, token, b ?? "", { metadata: { version: "v2" } });
    for (let i = 0; i < 6; i++) expect((await get(`/${name}/k`, { "x-canary": "1" })).instance).toBe(canary.id);
    const shown = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<{ service: { config: { split: unknown } } }>();
    expect(shown.service.config.split).toEqual([{ match: { header: { "x-canary": "1" } }, to: { version: "v2" } }]);
  });
});
