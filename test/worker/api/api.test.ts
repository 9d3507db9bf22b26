import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ADMIN, createService, json, mesh, originUrls, register, stubFor, uniqueName } from "../helpers.js";

const routesFor = (name: string) => ({ routes: { pathPrefixes: [`/${name}`] } });

describe("control-plane auth", () => {
  it("401s a missing or wrong admin token, with a JSON error and no stack", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, { authorization: "Basic abc" }];
    for (const headers of attempts) {
      const res = await mesh("/_mesh/v1/services", { headers });
      expect(res.status).toBe(401);
      const body = await res.json<Record<string, unknown>>();
      expect(body.error).toBe("unauthorized");
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
    }
  });

  it("accepts the admin token", async () => {
    const res = await mesh("/_mesh/v1/services", { headers: ADMIN });
    expect(res.status).toBe(200);
  });

  it("lets a registration token register but not administer", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    const list = await mesh("/_mesh/v1/services", { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(401);
    const other = uniqueName();
    await createService(other, routesFor(other));
    const cross = await mesh(
      `/_mesh/v1/services/${other}/instances`,
      json("POST", { url: originUrls()[0] }, { authorization: `Bearer ${token}` }),
    );
    expect(cross.status).toBe(401);
  });

  it("lets the admin token act on any service's instances, and refuses a wrong token there", async () => {
    const name = uniqueName();
    await createService(name, routesFor(name));
    const byAdmin = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url: originUrls()[0] }));
    expect(byAdmin.status).toBe(201);
    const wrong = await mesh(
      `/_mesh/v1/services/${name}/instances`,
      json("POST", { url: originUrls()[0] }, { authorization: "Bearer sy_not-the-token" }),
    );
    expect(wrong.status).toBe(401);
  });
});

describe("service CRUD and validation", () => {
  it("creates with defaults, returns a token once, stores only its hash", async () => {
    const name = uniqueName();
    const { token, body } = await createService(name, routesFor(name));
    expect(token).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
    const service = body.service as { config: Record<string, unknown> };
    expect(service.config).toMatchObject({
      balancer: "round_robin",
      routing: { mode: "snapshot" },
      healthCheck: { path: "/healthz", intervalSeconds: 10 },
      lease: { ttlSeconds: 30 },
    });
    const stored = await env.REGISTRY.get(`service:${name}`);
    expect(stored).not.toBeNull();
    expect(stored).not.toContain(token);
    expect(JSON.parse(stored ?? "{}")).toHaveProperty("tokenHash");

    const update = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { ...routesFor(name), balancer: "weighted_round_robin" }));
    expect(update.status).toBe(200);
    expect(await update.json()).not.toHaveProperty("registrationToken");
  });

  it("400s a bad body naming each field", async () => {
    const res = await mesh(
      `/_mesh/v1/services/${uniqueName()}`,
      json("PUT", { routes: {}, balancer: "fastest", retry: { attempts: 0, retryOn: ["418"] } }),
    );
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; message: string; issues: { path: string; message: string }[] }>();
    expect(body.error).toBe("invalid_request");
    const paths = body.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["routes.hosts", "balancer", "retry.attempts", "retry.retryOn.0"]));
  });

  it("400s malformed JSON and a bad service name", async () => {
    const bad = await mesh(`/_mesh/v1/services/${uniqueName()}`, {
      method: "PUT",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    expect((await bad.json<{ error: string }>()).error).toBe("invalid_request");
    const name = await mesh("/_mesh/v1/services/Bad_Name", json("PUT", routesFor("x")));
    expect(name.status).toBe(400);
    expect((await name.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe("name");
  });

  it("names the body in issues for malformed JSON, on every JSON endpoint alike", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    const sent: [string, string, Record<string, string>][] = [
      ["PUT", `/_mesh/v1/services/${name}`, ADMIN],
      ["POST", `/_mesh/v1/services/${name}/instances`, { authorization: `Bearer ${token}` }],
      ["POST", `/_mesh/v1/services/${name}/registration-token:rotate`, ADMIN],
    ];
    for (const [method, path, auth] of sent) {
      const res = await mesh(path, { method, headers: { ...auth, "content-type": "application/json" }, body: "{not json" });
      expect(res.status, `${method} ${path}`).toBe(400);
      const body = await res.json<{ error: string; message: string; issues?: { path: string; message: string }[] }>();
      expect(body.error).toBe("invalid_request");
      expect(body.issues, `${method} ${path}`).toEqual([{ path: "(body)", message: "malformed JSON" }]);
      expect(body.message).toBe("invalid request body: (body): malformed JSON");
    }
  });

  it("409s a route another service already owns", async () => {
    const a = uniqueName();
    await createService(a, { routes: { hosts: [`${a}.example.com`] } });
    const res = await mesh(`/_mesh/v1/services/${uniqueName()}`, json("PUT", { routes: { hosts: [`${a}.example.com`] } }));
    expect(res.status).toBe(409);
    expect((await res.json<{ error: string }>()).error).toBe("conflict");
  });

  it("lists, shows and deletes; 404s what is gone", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    await register(name, token, originUrls()[0] ?? "");
    const list = await (await mesh("/_mesh/v1/services", { headers: ADMIN })).json<{ services: { name: string }[] }>();
    expect(list.services.map((s) => s.name)).toContain(name);
    const shown = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<{
      instances: { state: string; url: string }[];
    }>();
    expect(shown.instances).toHaveLength(1);
    expect(shown.instances[0]?.state).toBe("healthy");

    // The instance mirror goes from the coordinator's alarm, in batches (service-delete.test.ts). With
    // the coordinator's clock an hour ahead, that alarm lies in the runtime's future: it runs when the test runs it.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3_600_000);
    try {
      const del = await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN });
      expect(del.status).toBe(200);
      expect(await env.REGISTRY.get(`service:${name}`)).toBeNull();
      expect((await env.REGISTRY.list({ prefix: `instance:${name}:` })).keys).toHaveLength(1);
      expect(await runDurableObjectAlarm(stubFor(name))).toBe(true);
      expect((await env.REGISTRY.list({ prefix: `instance:${name}:` })).keys).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
    expect((await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).status).toBe(404);
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(404);
  });
});

describe("instance registration, heartbeat, deregistration", () => {
  it("registers idempotently: same URL, same id, no second KV write", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    const url = originUrls()[0] ?? "";
    const first = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url }, { authorization: `Bearer ${token}` }));
    expect(first.status).toBe(201);
    const a = await first.json<{ id: string; leaseExpiresAt: string; heartbeatUrl: string }>();
    expect(a.id).toMatch(/^[a-f0-9]{16}$/);
    expect(a.heartbeatUrl).toBe(`http://mesh.test/_mesh/v1/services/${name}/instances/${a.id}/heartbeat`);
    expect(Date.parse(a.leaseExpiresAt) - Date.now()).toBeGreaterThan(25_000);

    const kvBefore = await env.REGISTRY.getWithMetadata(`instance:${name}:${a.id}`);
    expect(kvBefore.metadata).toMatchObject({ url, weight: 1 });

    const again = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url: `${url}/` }, { authorization: `Bearer ${token}` }));
    expect(again.status).toBe(200);
    expect((await again.json<{ id: string }>()).id).toBe(a.id);
  });

  it("renews leases by heartbeat and 404s unknown instances", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    const reg = await register(name, token, originUrls()[1] ?? "", { ttlSeconds: 60 });
    const auth = { authorization: `Bearer ${token}` };
    const hb = await mesh(reg.heartbeatUrl, { method: "PUT", headers: auth });
    expect(hb.status).toBe(200);
    const lease = await hb.json<{ leaseExpiresAt: string }>();
    expect(Date.parse(lease.leaseExpiresAt) - Date.now()).toBeGreaterThan(55_000);
    const unknown = await mesh(`/_mesh/v1/services/${name}/instances/0123456789abcdef/heartbeat`, { method: "PUT", headers: auth });
    expect(unknown.status).toBe(404);
    const malformed = await mesh(`/_mesh/v1/services/${name}/instances/xyz/heartbeat`, { method: "PUT", headers: auth });
    expect(malformed.status).toBe(400);
  });

  it("deregisters into draining and removes the KV mirror", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    const reg = await register(name, token, originUrls()[2] ?? "");
    const auth = { authorization: `Bearer ${token}` };
    const del = await mesh(`/_mesh/v1/services/${name}/instances/${reg.id}`, { method: "DELETE", headers: auth });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ id: reg.id, state: "draining" });
    expect(await env.REGISTRY.get(`instance:${name}:${reg.id}`)).toBeNull();
    const shown = await (await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).json<{
      instances: { state: string }[];
    }>();
    expect(shown.instances[0]?.state).toBe("draining");
    const hb = await mesh(reg.heartbeatUrl, { method: "PUT", headers: auth });
    expect(hb.status).toBe(404);
  });

  it("refuses private origins unless ALLOW_PRIVATE_ORIGINS, and bad bodies with field names", async () => {
    const name = uniqueName();
    const { token } = await createService(name, routesFor(name));
    const auth = { authorization: `Bearer ${token}` };
    const bad = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url: "ftp://x", weight: 0, extra: 1 }, auth));
    expect(bad.status).toBe(400);
    const paths = (await bad.json<{ issues: { path: string }[] }>()).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["url", "weight"]));
    // An unknown service is a 404 for the admin only; a token holder cannot tell it from a wrong token.
    const missing = await mesh(`/_mesh/v1/services/nope-${name}/instances`, json("POST", { url: "https://a.example" }, auth));
    expect(missing.status).toBe(401);
    const missingAdmin = await mesh(`/_mesh/v1/services/nope-${name}/instances`, json("POST", { url: "https://a.example" }));
    expect(missingAdmin.status).toBe(404);
    // Credentials are checked before the body is even parsed.
    const unauthenticated = await mesh(`/_mesh/v1/services/${name}/instances`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(unauthenticated.status).toBe(401);
  });
});
