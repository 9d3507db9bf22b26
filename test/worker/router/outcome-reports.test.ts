import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { serviceWith, stubFor } from "../helpers.js";

/**
 * The outcome reporter (src/edge/report/outcome-reporter.ts) folds tries into
 * one running report per instance, so a busy isolate's report rate to a
 * coordinator is set by the flush window, not by its request rate. In this
 * pool every request runs in one isolate: the test is that isolate, busy.
 */
async function burst(url: string, requests: number, inFlight: number): Promise<void> {
  const pending: ExecutionContext[] = [];
  for (let sent = 0; sent < requests; sent += inFlight) {
    await Promise.all(
      Array.from({ length: Math.min(inFlight, requests - sent) }, async () => {
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(url), env, ctx);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        pending.push(ctx);
      }),
    );
  }
  await Promise.all(pending.map((ctx) => waitOnExecutionContext(ctx)));
}

const triesSeen = async (name: string) => (await stubFor(name).describe()).instances.reduce((n, i) => n + i.requests, 0);

describe("outcome reports from a busy isolate", () => {
  it("carry every try of a 600-request burst in one report per flush window, however many requests it holds", async () => {
    const { name } = await serviceWith(2);
    // Warm: the snapshot is loaded and the first flush has gone out.
    await burst(`http://mesh.test/${name}/warm`, 1, 1);
    const before = await stubFor(name).describe();
    const triesBefore = await triesSeen(name);

    const started = Date.now();
    await burst(`http://mesh.test/${name}/busy`, 600, 50);
    const elapsedMs = Date.now() - started;

    const after = await stubFor(name).describe();
    const reports = after.routerRpcs.reports - before.routerRpcs.reports;
    expect(reports).toBeGreaterThanOrEqual(1);
    // One flush per FLUSH_DELAY_MS (1 s) while the burst runs, plus the one that follows it: two when
    // the burst takes under a second, as it does on an idle machine, and never more reports than
    // windows on a slow, loaded run. A reporter sending per request is caught either way; one sending
    // per 256 tries (3 reports) only when the burst runs under a second.
    expect(reports).toBeLessThanOrEqual(Math.floor(elapsedMs / 1_000) + 2);
    // Folding loses no try: the coordinator counted all 600.
    expect((await triesSeen(name)) - triesBefore).toBe(600);
  }, 30_000);
});
