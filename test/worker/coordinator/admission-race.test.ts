import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Registrations } from "../../../src/coordinator/membership.js";
import { CoordinatorState } from "../../../src/coordinator/state.js";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { MAX_ACTIVE_INSTANCES } from "../../../src/core/membership/admission.js";
import type { Member } from "../../../src/core/membership/member.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { instanceIdFor } from "../../../src/core/snapshot.js";

function seeded(id: string, url: string, membership: Member["membership"], now: number): Member {
  return {
    id, url, weight: 1, zone: null, priority: 0, location: null, metadata: null, ttlSeconds: null,
    registeredAt: now, leaseExpiresAt: now + 60_000, membership, membershipSince: now, health: initialHealth(),
    requests: 0, failures: 0, latencyMsTotal: 0,
  };
}

describe("registration bounds under concurrency", () => {
  it("two expired members returning at once cannot take the service past MAX_ACTIVE_INSTANCES", async () => {
    // A fresh object with its real storage and the real KV; the state is seeded directly, since 999
    // registrations through the API would only make the test slow.
    const stub = env.SERVICES.get(env.SERVICES.newUniqueId());
    const name = `cap-${Date.now().toString(36)}`;
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: [`/${name}`] } });
    const active = await runInDurableObject(stub, async (_i, ctx) => {
      const state = new CoordinatorState(ctx.storage);
      const now = Date.now();
      state.applyConfig(name, config, 1, now);
      for (let i = 0; i < MAX_ACTIVE_INSTANCES - 1; i++) state.put(seeded(`a${String(i).padStart(15, "0")}`, `http://10.1.${i >> 8}.${i & 255}:80`, "active", now));
      const back = ["http://10.2.0.1:80", "http://10.2.0.2:80"];
      for (const url of back) state.put(seeded(await instanceIdFor(url), url, "expired", now));
      const registrations = new Registrations();
      const req = (url: string) => ({ url, weight: 1, zone: null, metadata: null, ttlSeconds: null });
      const results = await Promise.all(back.map((url) => registrations.register(state, env.REGISTRY, name, config, 1, req(url))));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      return state.activeCount();
    });
    expect(active).toBe(MAX_ACTIVE_INSTANCES);
  });
});
