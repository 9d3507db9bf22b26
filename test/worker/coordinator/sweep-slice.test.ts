import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepAll, type SweepRecord } from "../../../src/sweep/sweep.js";
import { seedServiceRecords, stubFor, uniqueName } from "../helpers.js";

async function configured(names: readonly string[]): Promise<string[]> {
  const described = await Promise.all(names.map(async (name) => ((await stubFor(name).describe()).service === name ? name : null)));
  return described.filter((n): n is string => n !== null);
}

describe("the cron sweep in slices", () => {
  it("past one run's slice, sweeps the services in turn, each within ⌈n / slice⌉ runs, and says where the next run starts", async () => {
    const prefix = uniqueName("slice");
    const names = Array.from({ length: 120 }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
    await seedServiceRecords(names);
    const runs: SweepRecord[] = [];
    const counts: number[] = [];
    for (let r = 0; r < 3; r++) {
      runs.push(await sweepAll(env, Date.now(), 50));
      counts.push((await configured(names)).length);
    }
    expect(runs.map((r) => r.swept)).toEqual([50, 50, 50]);
    expect(runs.every((r) => r.errors.length === 0 && r.services === 120)).toBe(true);
    // 50, then 100, then all 120: the third run took the last 20 and wrapped round to the first 30.
    expect(counts).toEqual([50, 100, 120]);
    expect(runs.map((r) => r.nextFrom)).toEqual([names[50], names[100], names[30]]);
    // The cursor survives in sweep:last: a fourth run goes on from it.
    const stored = await env.REGISTRY.get<SweepRecord>("sweep:last", "json");
    expect(stored?.nextFrom).toBe(names[30]);
    expect((await sweepAll(env, Date.now(), 50)).nextFrom).toBe(names[80]);
  }, 60_000);

  it("takes every service in one run while they fit, with no cursor", async () => {
    const prefix = uniqueName("fits");
    const names = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
    await seedServiceRecords(names);
    const record = await sweepAll(env, Date.now());
    expect(record.swept).toBe(record.services);
    expect(record.nextFrom).toBeNull();
    expect(await configured(names)).toEqual(names);
  });
});
