import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { serviceConfigSchema, type ServiceRecord } from "../../../src/core/schema/service.js";
import { sha256Hex } from "../../../src/core/sha256.js";
import { putService } from "../../../src/registry/kv-registry.js";
import type { ServiceCoordinator } from "../../../src/coordinator/service-coordinator.js";
import { ADMIN, originUrls, stubFor, uniqueName, meshUnlimited } from "../helpers.js";

/**
 * The registration token against KV's lack of compare-and-swap: the service's
 * coordinator orders every create, PUT and rotation and answers with the
 * credentials in force, which is what the KV record carries. Rate limits are
 * off here: some calls are many and at once.
 */
const mesh = meshUnlimited;

interface PutAnswer {
  registrationToken?: string;
  warnings?: string[];
  service: { createdAt: string };
}

async function put(name: string, config: Record<string, unknown> = { routes: { pathPrefixes: [`/${name}`] } }): Promise<{ status: number; body: PutAnswer }> {
  const res = await mesh(`/_mesh/v1/services/${name}`, { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(config) });
  return { status: res.status, body: await res.json<PutAnswer>() };
}

async function rotate(name: string, graceSeconds = 3600): Promise<string> {
  const res = await mesh(`/_mesh/v1/services/${name}/registration-token:rotate`, {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ graceSeconds }),
  });
  expect(res.status).toBe(200);
  return (await res.json<{ registrationToken: string }>()).registrationToken;
}

/** The status a registration with `token` gets: 201 or 200 when the token is accepted, 401 when not. */
async function registerWith(name: string, token: string): Promise<number> {
  const res = await mesh(`/_mesh/v1/services/${name}/instances`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ url: originUrls()[0] }),
  });
  return res.status;
}

const stored = async (name: string) => await env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");

describe("the registration token, ordered by the service's coordinator", { timeout: 30_000 }, () => {
  it("five PUTs creating one service at once: exactly one 201 with a token, and that token is the one that works", async () => {
    const name = uniqueName("cred");
    const answers = await Promise.all(Array.from({ length: 5 }, () => put(name)));
    const created = answers.filter((a) => a.status === 201);
    expect(created).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(4);
    for (const a of answers.filter((x) => x.status === 200)) expect(a.body.registrationToken).toBeUndefined();
    const token = created[0]?.body.registrationToken ?? "";
    expect((await stored(name))?.tokenHash).toBe(await sha256Hex(token));
    expect(await registerWith(name, token)).toBe(201);
  });

  it("a PUT that reads no record (KV not caught up there) updates the service the coordinator holds, keeping its token and creation time", async () => {
    const name = uniqueName("cred");
    const first = await put(name);
    const token = first.body.registrationToken ?? "";
    // What a read elsewhere can say for up to 60 s after the create: the key is missing.
    await env.REGISTRY.delete(`service:${name}`);
    const again = await put(name, { routes: { pathPrefixes: [`/${name}`] }, balancer: "random" });
    expect(again.status).toBe(200);
    expect(again.body.registrationToken).toBeUndefined();
    expect(again.body.service.createdAt).toBe(first.body.service.createdAt);
    const record = await stored(name);
    expect(record?.config.balancer).toBe("random");
    expect(record?.tokenHash).toBe(await sha256Hex(token));
    expect(await registerWith(name, token)).toBe(201);
  });

  it("a PUT that read the record from before a rotation writes the rotated token, not the old one back", async () => {
    const name = uniqueName("cred");
    const old = (await put(name)).body.registrationToken ?? "";
    const before = await stored(name);
    const fresh = await rotate(name);
    // The PUT's read is stale: it still sees the record the rotation replaced.
    if (before === null) throw new Error("no record");
    await putService(env.REGISTRY, before);
    expect((await put(name, { routes: { pathPrefixes: [`/${name}`] }, balancer: "random" })).status).toBe(200);
    const record = await stored(name);
    expect(record?.tokenHash).toBe(await sha256Hex(fresh));
    expect(record?.previousToken?.hash).toBe(await sha256Hex(old));
    expect(await registerWith(name, fresh)).toBe(201);
    expect(await registerWith(name, old)).toBe(200);
  });

  it("a rotation that read a stale record rotates from the token in force, so the token it replaces keeps its grace", async () => {
    const name = uniqueName("cred");
    await put(name);
    const before = await stored(name);
    const second = await rotate(name);
    if (before === null) throw new Error("no record");
    await putService(env.REGISTRY, before);
    const third = await rotate(name);
    expect(await registerWith(name, third)).toBe(201);
    expect(await registerWith(name, second)).toBe(200);
  });

  it("a rotation that read the record from before a PUT writes the config the coordinator holds, not the old one back", async () => {
    const name = uniqueName("cred");
    await put(name);
    const before = await stored(name);
    expect((await put(name, { routes: { pathPrefixes: [`/${name}`, `/${name}-v2`] }, balancer: "random" })).status).toBe(200);
    const updated = await stored(name);
    // The rotation's read is stale: it still sees the record from before the PUT.
    if (before === null || updated === null) throw new Error("no record");
    await putService(env.REGISTRY, before);
    const fresh = await rotate(name);
    const record = await stored(name);
    expect(record?.config).toEqual(updated.config);
    expect(record?.updatedAt).toBe(updated.updatedAt);
    expect(record?.tokenHash).toBe(await sha256Hex(fresh));
    expect(await registerWith(name, fresh)).toBe(201);
  });

  it("four PUTs over one damaged record at once: exactly one 201 with a new token, and that token is the one that works", async () => {
    const name = uniqueName("cred");
    await put(name);
    await env.REGISTRY.put(`service:${name}`, "{not json");
    const answers = await Promise.all(Array.from({ length: 4 }, () => put(name)));
    const replaced = answers.filter((a) => a.status === 201);
    expect(replaced).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 201)) expect(a.status).toBe(200);
    const token = replaced[0]?.body.registrationToken ?? "";
    expect((await stored(name))?.tokenHash).toBe(await sha256Hex(token));
    expect(await registerWith(name, token)).toBe(201);
  });

  it("a coordinator holding no credentials yet (a record from an older build) adopts KV's on the next PUT", async () => {
    const name = uniqueName("cred");
    const token = "sy_from-an-older-build";
    const now = Date.now() - 60_000;
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${name}`] } });
    await putService(env.REGISTRY, { name, config, tokenHash: await sha256Hex(token), createdAt: now, updatedAt: now });
    const updated = await put(name, { routes: { pathPrefixes: [`/${name}`] }, balancer: "random" });
    expect(updated.status).toBe(200);
    expect(updated.body.warnings).toBeUndefined();
    expect((await stored(name))?.tokenHash).toBe(await sha256Hex(token));
    expect(await registerWith(name, token)).toBe(201);
  });

  it("a PUT over a damaged record issues a new token (201), and the old one stops working", async () => {
    const name = uniqueName("cred");
    const old = (await put(name)).body.registrationToken ?? "";
    await env.REGISTRY.put(`service:${name}`, "{not json");
    const replaced = await put(name);
    expect(replaced.status).toBe(201);
    const fresh = replaced.body.registrationToken ?? "";
    expect(fresh).not.toBe(old);
    expect(await registerWith(name, fresh)).toBe(201);
    expect(await registerWith(name, old)).toBe(401);
  });

  it("deleted and created again: a new token, and the deleted service's token is refused", async () => {
    const name = uniqueName("cred");
    const old = (await put(name)).body.registrationToken ?? "";
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const again = await put(name);
    expect(again.status).toBe(201);
    const fresh = again.body.registrationToken ?? "";
    expect(await registerWith(name, old)).toBe(401);
    expect(await registerWith(name, fresh)).toBe(201);
  });
});

/**
 * A live object answers a call it has seen with its first answer, without running it again
 * (core/admin/admin-queue.ts; test/worker/coordinator/admin-retries.test.ts). One reset
 * in between has forgotten the first delivery, and runs the second: the token digests it keeps must
 * make that come out the same.
 */
async function reset(name: string): Promise<DurableObjectStub<ServiceCoordinator>> {
  await runInDurableObject(stubFor(name), (_i, state) => state.abort("test: reset between two deliveries of one call")).catch(() => undefined);
  return stubFor(name);
}

describe("retried calls to the coordinator (the platform retries an RPC once when it says so), the object reset in between", () => {
  it("the same rotation twice keeps the replaced token's grace", async () => {
    const name = uniqueName("cred");
    const old = (await put(name)).body.registrationToken ?? "";
    const hash = await sha256Hex("sy_rotated");
    const until = Date.now() + 60_000;
    expect(await stubFor(name).rotateToken(name, hash, until)).toEqual({ ok: true });
    expect(await (await reset(name)).rotateToken(name, hash, until)).toEqual({ ok: true });
    const record = await stored(name);
    expect(record?.tokenHash).toBe(hash);
    expect(record?.previousToken).toEqual({ hash: await sha256Hex(old), validUntil: until });
    expect(await registerWith(name, old)).toBe(201);
    expect(await registerWith(name, "sy_rotated")).toBe(200);
  });

  it("the same creating PUT twice: both tries say it created the service, with the one token", async () => {
    const name = uniqueName("cred");
    const hash = await sha256Hex("sy_created");
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${name}`] } });
    const now = Date.now();
    const first = await stubFor(name).putService(name, config, now, hash);
    const again = await (await reset(name)).putService(name, config, now, hash);
    expect(first.ok && first.created).toBe(true);
    expect(again.ok && again.created).toBe(true);
    expect((await stored(name))?.tokenHash).toBe(hash);
    expect(await registerWith(name, "sy_created")).toBe(201);
  });
});
