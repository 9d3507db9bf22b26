import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServiceRecord } from "../../../src/core/schema/service.js";
import { sha256Hex } from "../../../src/core/sha256.js";
import { ADMIN, createService, json, mesh, originUrls, uniqueName } from "../helpers.js";

const rotatePath = (name: string) => `/_mesh/v1/services/${name}/registration-token:rotate`;

async function rotate(name: string, body?: unknown): Promise<{ registrationToken: string; previousTokenValidUntil: string }> {
  const res = await mesh(rotatePath(name), body === undefined ? { method: "POST", headers: ADMIN } : json("POST", body));
  if (res.status !== 200) throw new Error(`rotate failed: ${res.status} ${await res.text()}`);
  return await res.json<{ registrationToken: string; previousTokenValidUntil: string }>();
}

/** The status a registration with `token` gets (201 or 200 when the token is accepted). */
async function registerWith(name: string, token: string, url = originUrls()[0] ?? ""): Promise<number> {
  const res = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url }, { authorization: `Bearer ${token}` }));
  await res.text();
  return res.status;
}

async function newService(): Promise<{ name: string; token: string }> {
  const name = uniqueName("rot");
  const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
  return { name, token };
}

// The first test also starts the isolate and the coordinator: under a loaded machine that alone has taken 4 s.
describe("POST /services/{name}/registration-token:rotate", { timeout: 30_000 }, () => {
  it("returns a new token that works at once; the old one keeps working for the default grace of 24 h", async () => {
    const { name, token: old } = await newService();
    const before = Date.now();
    const rotated = await rotate(name);
    expect(rotated.registrationToken).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
    expect(rotated.registrationToken).not.toBe(old);
    const until = Date.parse(rotated.previousTokenValidUntil);
    expect(until - before).toBeGreaterThanOrEqual(86_400_000);
    expect(until - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(await registerWith(name, rotated.registrationToken)).toBe(201);
    expect(await registerWith(name, old)).toBe(200);
    // Only hashes are stored.
    const stored = (await env.REGISTRY.get(`service:${name}`)) ?? "";
    expect(stored).not.toContain(rotated.registrationToken);
    expect(stored).not.toContain(old);
  });

  it("refuses the old token once its grace has passed", async () => {
    const { name, token: old } = await newService();
    const { registrationToken } = await rotate(name, { graceSeconds: 3600 });
    expect(await registerWith(name, old)).toBe(201);
    // Drive the clock through the stored record: the grace ended a moment ago.
    const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    if (record?.previousToken === undefined) throw new Error("no previous token stored");
    await env.REGISTRY.put(`service:${name}`, JSON.stringify({ ...record, previousToken: { ...record.previousToken, validUntil: Date.now() - 1 } }));
    expect(await registerWith(name, old)).toBe(401);
    expect(await registerWith(name, registrationToken)).toBe(200);
  });

  it("with graceSeconds 0, refuses the old token at once", async () => {
    const { name, token: old } = await newService();
    const { registrationToken, previousTokenValidUntil } = await rotate(name, { graceSeconds: 0 });
    expect(Date.parse(previousTokenValidUntil)).toBeLessThanOrEqual(Date.now());
    expect(await registerWith(name, old)).toBe(401);
    expect(await registerWith(name, registrationToken)).toBe(201);
  });

  it("rotating twice invalidates the oldest token and keeps the one in between for its grace", async () => {
    const { name, token: first } = await newService();
    const second = (await rotate(name)).registrationToken;
    const third = (await rotate(name)).registrationToken;
    expect(await registerWith(name, first)).toBe(401);
    expect(await registerWith(name, second)).toBe(201);
    expect(await registerWith(name, third)).toBe(200);
  });

  it("is admin-only, 404s an unknown service, names a bad graceSeconds, and routes ':rotate' literally", async () => {
    const { name, token } = await newService();
    const byToken = await mesh(rotatePath(name), { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(byToken.status).toBe(401);
    expect(await registerWith(name, token)).toBe(201);
    expect((await mesh(rotatePath(`nope-${name}`), { method: "POST", headers: ADMIN })).status).toBe(404);
    for (const graceSeconds of [-1, 604_801, 1.5]) {
      const bad = await mesh(rotatePath(name), json("POST", { graceSeconds }));
      expect(bad.status).toBe(400);
      expect((await bad.json<{ issues: { path: string }[] }>()).issues[0]?.path).toBe("graceSeconds");
    }
    for (const segment of ["registration-token:reveal", "registration-token:rotatex", "registration-tokenXrotate", "registration-token"]) {
      const other = await mesh(`/_mesh/v1/services/${name}/${segment}`, { method: "POST", headers: ADMIN });
      expect(other.status).toBe(404);
    }
    // None of the refused calls rotated anything.
    expect(await registerWith(name, token)).toBe(200);
  });
});

/**
 * A stored `previousToken` the mesh did not write (a hand edit, a damaged
 * value, an older writer that stored null): it is no grace token, so it is
 * read as absent. Every token check crashed on a null one (a 500 for the
 * right token as well as for a wrong one).
 */
describe("a stored previousToken that is not {hash, validUntil}", { timeout: 30_000 }, () => {
  async function storeWith(previousToken: unknown): Promise<{ name: string; token: string }> {
    const { name, token } = await newService();
    const record = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    if (record === null) throw new Error("record missing");
    await env.REGISTRY.put(`service:${name}`, JSON.stringify({ ...record, previousToken }));
    return { name, token };
  }

  it.each([
    ["null", null],
    ["a string", "0d4c2a1b"],
    ["an array", []],
    ["an object without validUntil", { hash: "0d4c2a1b" }],
    ["a hash that is not a string", { hash: 5, validUntil: Date.now() + 3_600_000 }],
  ])("is absent (%s): the current token and the admin are accepted, a wrong token is a 401", async (_why, previousToken) => {
    const { name, token } = await storeWith(previousToken);
    expect(await registerWith(name, token)).toBe(201);
    expect(await registerWith(name, "test-admin-token")).toBe(200);
    const wrong = await mesh(`/_mesh/v1/services/${name}/instances`, json("POST", { url: originUrls()[0] ?? "" }, { authorization: "Bearer sy_wrong" }));
    expect(wrong.status).toBe(401);
    expect((await wrong.json<{ error: string }>()).error).toBe("unauthorized");
    const view = await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    expect(view.status).toBe(200);
    await view.arrayBuffer();
  });

  it("grants no grace through a validUntil that is not a number, even one that compares as a far future", async () => {
    const stale = "sy_stale-token-from-a-hand-edit";
    const { name, token } = await storeWith({ hash: await sha256Hex(stale), validUntil: "99999999999999" });
    expect(await registerWith(name, stale)).toBe(401);
    expect(await registerWith(name, token)).toBe(201);
  });

  it("is replaced by a rotation: the token it replaced gets its grace, the new one works, the record is whole again", async () => {
    const { name, token: old } = await storeWith(null);
    const { registrationToken, previousTokenValidUntil } = await rotate(name, { graceSeconds: 3600 });
    expect(await registerWith(name, registrationToken)).toBe(201);
    expect(await registerWith(name, old)).toBe(200);
    const stored = await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
    expect(stored?.previousToken).toEqual({ hash: await sha256Hex(old), validUntil: Date.parse(previousTokenValidUntil) });
  });

  it("is not written back by a config PUT", async () => {
    const { name, token } = await storeWith(null);
    const res = await mesh(`/_mesh/v1/services/${name}`, json("PUT", { routes: { pathPrefixes: [`/${name}`] }, balancer: "random" }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const stored = await env.REGISTRY.get<Record<string, unknown>>(`service:${name}`, "json");
    expect(stored !== null && "previousToken" in stored).toBe(false);
    expect(await registerWith(name, token)).toBe(201);
  });
});
