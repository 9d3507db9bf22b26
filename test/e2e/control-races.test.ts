import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startOrigins, type Origin } from "../../scripts/lib/origin.mjs";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { ADMIN_TOKEN, meshCall, until } from "./harness.js";

/**
 * The control plane's admin writes sent at once over real sockets, to the
 * bundled mesh in workerd, and what a client can see afterwards: the service
 * as GET shows it, what the data plane routes, and the lease its coordinator
 * hands out (the coordinator's own copy of the config). They must tell one
 * story. The control-plane rate limits are off: the calls are many and at once.
 */
interface ServiceView {
  service: { config: { routes: { pathPrefixes: string[] }; lease: { ttlSeconds: number } } };
}

describe("end to end: overlapping admin writes", () => {
  let mesh: RunningWorker;
  let origins: Origin[];

  beforeAll(async () => {
    mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off", CONTROL_PLANE_RATE_LIMITS: "off" },
    });
    origins = await startOrigins(1, "races");
  });

  afterAll(async () => {
    await Promise.all(origins.map((o) => o.stop()));
    await mesh.dispose();
  });

  const admin = <T>(method: string, path: string, body?: unknown) => meshCall<T>(mesh.url, method, `/_mesh/v1${path}`, body, ADMIN_TOKEN);

  /** The data plane's status for a path: 404 no_route, or whatever the routed service answers. */
  const routed = async (path: string) => (await fetch(`${mesh.url}${path}`)).status;

  it("concurrent PUTs of one service: GET, the data plane and the coordinator's lease all follow the same one", async () => {
    const origin = origins[0];
    if (origin === undefined) throw new Error("no origin");
    for (let round = 0; round < 4; round++) {
      const name = `puts-${round}`;
      // Each config told apart by its prefix and its lease length.
      const config = (k: number) => ({ routes: { pathPrefixes: [`/${name}-${k}`] }, lease: { ttlSeconds: 20 + 10 * k } });
      expect((await admin("PUT", `/services/${name}`, config(0))).status).toBe(201);
      const replies = await Promise.all([1, 2, 3, 4, 5].map((k) => admin("PUT", `/services/${name}`, config(k))));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);

      const shown = (await admin<ServiceView>("GET", `/services/${name}`)).body.service.config;
      const winner = shown.routes.pathPrefixes[0] ?? "";
      // The coordinator's copy: a registration's lease is its ttlSeconds from now.
      const before = Date.now();
      const reg = await admin<{ leaseExpiresAt: string }>("POST", `/services/${name}/instances`, { url: origin.url });
      expect(reg.status).toBe(201);
      const lease = (Date.parse(reg.body.leaseExpiresAt) - before) / 1000;
      expect(Math.abs(lease - shown.lease.ttlSeconds)).toBeLessThan(2);
      // The data plane routes the winner's prefix, and only it, once the route index settles.
      await until(`only ${winner} routed`, 15_000, async () => {
        const statuses = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => routed(`/${name}-${k}/x`)));
        return statuses.every((s, k) => (`/${name}-${k}` === winner ? s === 200 : s === 404));
      });
    }
  });

  it("services racing for one prefix: one gets it, the others a 409 and no trace anywhere", async () => {
    for (let round = 0; round < 3; round++) {
      const names = [0, 1, 2, 3].map((k) => `claim-${round}-${k}`);
      const prefix = `/shared-${round}`;
      const replies = await Promise.all(names.map((n) => admin<{ error?: string }>("PUT", `/services/${n}`, { routes: { pathPrefixes: [prefix] } })));
      const won = names.filter((_, k) => replies[k]?.status === 201);
      expect(won).toHaveLength(1);
      for (const r of replies) if (r.status !== 201) expect(r).toMatchObject({ status: 409, body: { error: "conflict" } });
      const listed = (await admin<{ services: { name: string }[] }>("GET", "/services")).body.services.map((s) => s.name);
      for (const n of names) {
        expect(listed.includes(n)).toBe(won.includes(n));
        expect((await admin("GET", `/services/${n}`)).status).toBe(won.includes(n) ? 200 : 404);
      }
      // The winner is routed (503: no instances yet); a loser can take another prefix at once.
      expect(await routed(`${prefix}/x`)).toBe(503);
      const loser = names.find((n) => !won.includes(n)) ?? "";
      expect((await admin("PUT", `/services/${loser}`, { routes: { pathPrefixes: [`/own-${loser}`] } })).status).toBe(201);
    }
  });

  it("PUTs and DELETEs of one service at once: whole or gone, and the same in every view", async () => {
    for (let round = 0; round < 6; round++) {
      const name = `mix-${round}`;
      expect((await admin("PUT", `/services/${name}`, { routes: { pathPrefixes: [`/${name}-0`] } })).status).toBe(201);
      const put = (k: number) => admin("PUT", `/services/${name}`, { routes: { pathPrefixes: [`/${name}-${k}`] } });
      const del = () => admin("DELETE", `/services/${name}`);
      const replies = await Promise.all(round % 2 === 0 ? [put(1), del(), put(2)] : [del(), put(1), del()]);
      for (const r of replies) expect([200, 201, 404]).toContain(r.status);

      const got = await admin<ServiceView>("GET", `/services/${name}`);
      const listed = (await admin<{ services: { name: string }[] }>("GET", "/services")).body.services.some((s) => s.name === name);
      expect(listed).toBe(got.status === 200);
      const winner = got.status === 200 ? got.body.service.config.routes.pathPrefixes[0] : null;
      await until(`the data plane to follow ${winner ?? "the delete"}`, 15_000, async () => {
        const statuses = await Promise.all([0, 1, 2].map((k) => routed(`/${name}-${k}/x`)));
        return statuses.every((s, k) => (`/${name}-${k}` === winner ? s === 503 : s === 404));
      });
    }
  });
});
