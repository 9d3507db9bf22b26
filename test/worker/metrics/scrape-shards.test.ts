import { describe, expect, it } from "vitest";
import { scrapeShardOf } from "../../../src/core/metrics/scrape-shard.js";
import { createService, mesh, uniqueName } from "../helpers.js";

const READER = { authorization: "Bearer test-metrics-token" };

/** The services a scrape read (switchyard_service_up 1) or skipped (0). */
async function scraped(query: string): Promise<string[]> {
  const res = await mesh(`/_mesh/v1/metrics${query}`, { headers: READER });
  expect(res.status).toBe(200);
  const text = await res.text();
  return [...text.matchAll(/^switchyard_service_up\{service="([^"]+)"\} [01]$/gm)].map((m) => m[1] ?? "");
}

describe("GET /_mesh/v1/metrics?shard=i&shards=n (a mesh past one scrape's services)", () => {
  it("splits the services between the shards: each in exactly one, all of them in the union", async () => {
    const names = Array.from({ length: 8 }, () => uniqueName("shard"));
    for (const name of names) await createService(name, { routes: { pathPrefixes: [`/${name}`] } });
    const whole = await scraped("");
    for (const name of names) expect(whole).toContain(name);
    const parts = [await scraped("?shard=0&shards=3"), await scraped("?shard=1&shards=3"), await scraped("?shard=2&shards=3")];
    expect(parts.flat().sort()).toEqual([...whole].sort());
    for (const [i, part] of parts.entries()) {
      for (const name of part) expect(scrapeShardOf(name, 3)).toBe(i);
    }
    // shards=1 is the whole scrape.
    expect((await scraped("?shard=0&shards=1")).sort()).toEqual([...whole].sort());
  });

  it.each([
    ["?shard=3&shards=3", "shard"],
    ["?shard=0&shards=0", "shards"],
    ["?shard=0&shards=65", "shards"],
    ["?shard=1", "shards"],
    ["?shards=2", "shards"],
    ["?shard=abc&shards=2", "shard"],
    ["?shard=-1&shards=2", "shard"],
    ["?shard=0&shards=2.5", "shards"],
  ])("refuses %s with a 400 naming %s", async (query, field) => {
    const res = await mesh(`/_mesh/v1/metrics${query}`, { headers: READER });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; issues: { path: string }[] }>();
    expect(body.error).toBe("invalid_request");
    expect(body.issues.map((i) => i.path)).toContain(field);
  });
});
