import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLoop } from "../../scripts/bench/lib/open-loop.mjs";
import { createService, startHarness, type Harness } from "./harness.js";

/**
 * Rate limits over real sockets and real origins: clients send at 4× the
 * configured rate, and what the origins serve is the configured rate (plus the
 * first burst), for an isolate-scope and a global-scope limit. Miniflare runs
 * one isolate, so the isolate limit here is the whole mesh's; the global one
 * goes through the RateLimiter object and the edge's deny cache.
 */
const RATE = 20;
const BURST = 5;
const SECONDS = 4;

describe("end to end: rate limits at 4× the configured rate", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(2);
    await createService(h, "metered", {
      routes: { pathPrefixes: ["/metered"] },
      rateLimits: [{ name: "whole-service", key: "service", ratePerSecond: RATE, burst: BURST }],
    });
    await createService(h, "metered-global", {
      routes: { pathPrefixes: ["/metered-global"] },
      rateLimits: [{ name: "all-locations", key: "service", ratePerSecond: RATE, burst: BURST, scope: "global" }],
    });
  });

  afterAll(async () => {
    await h.close();
  });

  const served = (): number => h.origins.reduce((n, o) => n + o.served, 0);

  it.each([
    ["isolate", "/metered/items"],
    ["global", "/metered-global/items"],
  ])("%s scope: the origins see the configured rate, and every other request is a 429", async (_scope, path) => {
    const url = `${h.mesh.url}${path}`;
    // Warm up (route table, limiter object), then wait out the bucket so the run starts full.
    await (await fetch(url)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 1_000));
    const before = served();
    const started = performance.now();
    const run = await openLoop({ url, rate: 4 * RATE, durationMs: SECONDS * 1000, maxSockets: 256 });
    const elapsedS = (performance.now() - started) / 1000;
    const reached = served() - before;
    const ok = run.records.filter((r) => r.status === 200).length;
    const refused = run.records.filter((r) => r.status === 429).length;
    expect(run.records.filter((r) => r.error !== null)).toEqual([]);
    expect(ok).toBe(reached);
    expect(ok + refused).toBe(4 * RATE * SECONDS);
    // Never more than a token bucket admits over the whole run, however long the answers took...
    expect(reached).toBeLessThanOrEqual(BURST + Math.ceil(RATE * elapsedS));
    // ...and not far below the configured rate: ±10% of burst + rate × t when the machine keeps up;
    // the floor leaves room for a loaded machine that sends the last requests late.
    expect(reached).toBeGreaterThanOrEqual(Math.floor((BURST + RATE * SECONDS) * 0.85));
  });
});
