import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PURGE_BATCH } from "../../../src/coordinator/outbound/purge.js";
import { ADMIN, createService, mesh, originUrls, register, stubFor, uniqueName } from "../helpers.js";

/** Every mirror key of a service (KV lists at most 1,000 per page). */
async function mirrorKeys(name: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await env.REGISTRY.list({ prefix: `instance:${name}:`, ...(cursor === undefined ? {} : { cursor }) });
    keys.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return keys;
    cursor = page.cursor;
  }
}

const hexId = (i: number) => i.toString(16).padStart(16, "0");

// The coordinator's clock runs an hour ahead, so the alarms it sets (next batch: "now") lie in the
// runtime's future and run only when the test runs them, one invocation at a time.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + 3_600_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("deleting a service with many instances (issue 9, defect 10)", () => {
  it("removes more than 1,000 mirror keys in batches of at most PURGE_BATCH per invocation, keeping a re-created service's members", async () => {
    const name = uniqueName("bulk");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, healthCheck: { intervalSeconds: 3600, timeoutMs: 1000 } });
    await register(name, token, originUrls()[0] ?? "");
    // More keys than one invocation may touch (1,000 subrequests), written straight into KV.
    const extra = 1_200;
    for (let start = 0; start < extra; start += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, j) => {
          const url = `https://bulk-${start + j}.example.com`;
          return env.REGISTRY.put(`instance:${name}:${hexId(start + j)}`, JSON.stringify({ url }), { metadata: { url, weight: 1, zone: null } });
        }),
      );
    }
    expect(await mirrorKeys(name)).toHaveLength(extra + 1);

    const del = await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN });
    expect(del.status).toBe(200);
    // The DELETE's own invocation removed no mirror key: they all go from the coordinator's alarm.
    let remaining = (await mirrorKeys(name)).length;
    expect(remaining).toBe(extra + 1);

    const stub = stubFor(name);
    const perInvocation: number[] = [];
    let recreated = "";
    while (remaining > 0 && perInvocation.length < 20) {
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      const now = (await mirrorKeys(name)).length;
      perInvocation.push(remaining - now);
      remaining = now;
      if (perInvocation.length === 1) {
        // The name is taken again mid-purge: the new service's member must keep its mirror key.
        // (A second later: a config is newer than the deleted one only if its updatedAt is.)
        vi.setSystemTime(Date.now() + 1_000);
        const again = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, healthCheck: { intervalSeconds: 3600, timeoutMs: 1000 } });
        recreated = (await register(name, again.token, originUrls()[1] ?? "")).id;
        remaining = (await mirrorKeys(name)).length;
      }
      if (remaining === 1 && (await mirrorKeys(name))[0] === `instance:${name}:${recreated}`) break;
    }
    expect(perInvocation.length).toBeGreaterThanOrEqual(Math.ceil((extra + 1) / PURGE_BATCH));
    for (const n of perInvocation) {
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(PURGE_BATCH);
    }
    expect(await mirrorKeys(name)).toEqual([`instance:${name}:${recreated}`]);
    // Done: no purge left; the alarm is the re-created service's next lease or health event, not another batch.
    const meta = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT value FROM meta WHERE key = 'purge'").toArray());
    expect(meta).toEqual([]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  }, 120_000);

  it("a deleted service's purge finishes and leaves no alarm behind", { timeout: 30_000 }, async () => {
    const name = uniqueName("bulk");
    const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    await register(name, token, originUrls()[0] ?? "");
    expect((await mesh(`/_mesh/v1/services/${name}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const stub = stubFor(name);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await mirrorKeys(name)).toEqual([]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
  });
});
