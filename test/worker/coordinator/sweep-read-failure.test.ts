import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sweepAll } from "../../../src/sweep/sweep.js";
import { leasedServiceWithLostAlarm, seedServiceRecords, stubFor, uniqueName } from "../helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

async function configured(names: readonly string[]): Promise<string[]> {
  const described = await Promise.all(names.map(async (name) => ((await stubFor(name).describe()).service === name ? name : null)));
  return described.filter((n): n is string => n !== null);
}

describe("the cron sweep past a record read that fails", () => {
  it("a bulk read that throws fails only its own hundred records: the other services are still configured and swept", async () => {
    const prefix = uniqueName("bulk");
    const names = Array.from({ length: 150 }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
    await seedServiceRecords(names);
    // Two records of 13 MiB each (KV takes values up to 25 MiB) in the second hundred: that bulk read's
    // answer passes the 25 MiB a bulk read may return, so the runtime throws for it (413) as a whole.
    const big = await env.REGISTRY.get<Record<string, unknown>>(`service:${names[148] ?? ""}`, "json");
    const padding = "x".repeat(13 * 1024 * 1024);
    for (const name of names.slice(148)) await env.REGISTRY.put(`service:${name}`, JSON.stringify({ ...big, name, padding }));
    try {
      const record = await sweepAll(env, Date.now());
      // Only the hundred that bulk read carried are named; the first hundred were read and configured.
      expect(record.errors.map((e) => e.service)).toEqual(names.slice(100));
      expect(await configured(names.slice(0, 100))).toEqual(names.slice(0, 100));
    } finally {
      for (const name of names.slice(148)) await env.REGISTRY.delete(`service:${name}`);
    }
  }, 60_000);

  it("still reaps the leases of a service whose record cannot be read, and re-arms its lost alarm; only its configure waits", async () => {
    // A lost alarm, which the sweep is the net under, and a record someone damaged by hand.
    const { name, id, stub } = await leasedServiceWithLostAlarm("unread");
    await env.REGISTRY.put(`service:${name}`, "{not json");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 11_000);
    const record = await sweepAll(env, Date.now());
    expect(record.errors.map((e) => e.service)).toEqual([name]);
    expect(record.expired).toBe(1);
    expect(await env.REGISTRY.get(`instance:${name}:${id}`)).toBeNull();
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await env.REGISTRY.delete(`service:${name}`);
  });
});
