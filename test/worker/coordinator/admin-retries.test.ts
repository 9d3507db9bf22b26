import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { serviceConfigSchema, type ServiceRecord } from "../../../src/core/schema/service.js";
import { sha256Hex } from "../../../src/core/sha256.js";
import { routeRegistry } from "../../../src/registry/route-registry.js";
import { ADMIN, createService, mesh, originUrls, register, stubFor, uniqueName } from "../helpers.js";

/**
 * One admin call delivered twice. The API retries a coordinator RPC once when the
 * platform marks its error retryable (coordinator/stub.ts), and such an error
 * does not say the first delivery did not run: the answer may have been lost on
 * the way back, or the call may still be running in the object. The second
 * delivery must get the first one's answer and change nothing, whatever other
 * calls ran in between. Each test sends the same call twice to the stub, as the
 * retry does.
 */

const stored = (name: string) => env.REGISTRY.get<ServiceRecord>(`service:${name}`, "json");
const config = (name: string, prefix = name) => serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${prefix}`] } });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("an admin call the platform delivers twice runs once", { timeout: 30_000 }, () => {
  it("a DELETE: the second delivery answers as the first did (deleted), not 404", async () => {
    const name = uniqueName("redel");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const stub = stubFor(name);
    const first = await stub.deleteService(name, Date.now(), "delete-1");
    const again = await stub.deleteService(name, Date.now(), "delete-1");
    expect(first.ok).toBe(true);
    expect(again).toEqual(first);
    expect(await stored(name)).toBeNull();
  });

  it("a creating PUT delivered again after a DELETE removed the service does not bring it back", async () => {
    const name = uniqueName("reput");
    const stub = stubFor(name);
    const hash = await sha256Hex("sy_reput");
    const now = Date.now();
    const first = await stub.putService(name, config(name), now, hash);
    expect(first.ok && first.created).toBe(true);
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const again = await stub.putService(name, config(name), now, hash);
    expect(again).toEqual(first);
    expect(await stored(name)).toBeNull();
    expect((await mesh(`/_mesh/v1/services/${name}`, { headers: ADMIN })).status).toBe(404);
  });

  it("a rotation delivered again after a later rotation leaves the later token in force", async () => {
    const name = uniqueName("rerot");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const stub = stubFor(name);
    const until = Date.now() + 60_000;
    const first = await sha256Hex("sy_first-rotation");
    expect(await stub.rotateToken(name, first, until)).toEqual({ ok: true });
    const later = await mesh(`/_mesh/v1/services/${name}/registration-token:rotate`, { method: "POST", headers: ADMIN });
    const { registrationToken } = await later.json<{ registrationToken: string }>();
    expect(await stub.rotateToken(name, first, until)).toEqual({ ok: true });
    expect((await stored(name))?.tokenHash).toBe(await sha256Hex(registrationToken));
    expect((await register(name, registrationToken, originUrls()[0] ?? "")).id).toMatch(/./);
  });

  it("a PUT delivered again while its first delivery still waits its turn: one write, one answer", async () => {
    const name = uniqueName("inflight");
    await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const stub = stubFor(name);
    const hash = await sha256Hex("sy_inflight");
    const now = Date.now();
    // The route registry held, so the first delivery is still under way when the second arrives.
    let begun = false;
    const released = runInDurableObject(routeRegistry(env), (_i, state) =>
      state.blockConcurrencyWhile(async () => {
        begun = true;
        await sleep(150);
      }),
    );
    while (!begun) await sleep(1);
    const firstCall = stub.putService(name, config(name, `${name}-v2`), now, hash);
    await sleep(20);
    const again = await stub.putService(name, config(name, `${name}-v2`), now, hash);
    const first = await firstCall;
    await released;
    expect(first.ok).toBe(true);
    expect(again).toEqual(first);
    expect((await stored(name))?.updatedAt).toBe(first.ok ? first.record.updatedAt : null);
  });
});
