import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_SCRAPE_SHARDS, scrapeShardOf } from "../../../src/core/metrics/scrape-shard.js";

describe("scrapeShardOf", () => {
  it("puts every name in exactly one shard below n, the same one every time", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9-]{1,63}$/), fc.integer({ min: 1, max: MAX_SCRAPE_SHARDS }), (name, n) => {
        const shard = scrapeShardOf(name, n);
        expect(Number.isInteger(shard) && shard >= 0 && shard < n).toBe(true);
        expect(scrapeShardOf(name, n)).toBe(shard);
      }),
    );
  });

  it("spreads a thousand service names evenly enough that no job takes twice its share", () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `svc-${i}`);
    for (const n of [2, 4, 8]) {
      const counts = new Array<number>(n).fill(0);
      for (const name of names) counts[scrapeShardOf(name, n)] = (counts[scrapeShardOf(name, n)] ?? 0) + 1;
      for (const c of counts) {
        expect(c).toBeGreaterThan((1_000 / n) * 0.7);
        expect(c).toBeLessThan((1_000 / n) * 1.3);
      }
    }
  });
});
