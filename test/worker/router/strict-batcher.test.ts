import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { PickBatchResult } from "../../../src/coordinator/service-coordinator.js";
import { MAX_PICKS_PER_BATCH } from "../../../src/core/snapshot.js";
import { PICK_TIMEOUT_MS, strictPick } from "../../../src/edge/pick/strict-pick-batcher.js";
import { uniqueName } from "../helpers.js";

/**
 * The batcher against a coordinator stand-in whose answers the test releases
 * by hand, so "what was in flight when" is exact. The real coordinator's
 * pickBatch is covered in coordinator.test.ts and strict mode end to end in
 * router.test.ts and test/e2e/strict.test.ts.
 */
interface Call {
  excludes: string[][];
  answer: (r: PickBatchResult) => void;
  fail: (err: Error) => void;
}

function fakeCoordinator(): { env: Env; calls: Call[] } {
  const calls: Call[] = [];
  const stub = {
    pickBatch: (excludes: string[][]) =>
      new Promise<PickBatchResult>((answer, fail) => {
        calls.push({ excludes, answer, fail });
      }),
  };
  const services = { idFromName: (n: string) => env.SERVICES.idFromName(n), get: () => stub } as unknown as Env["SERVICES"];
  return { env: { ...env, SERVICES: services }, calls };
}

/** Answers a call by numbering its picks from `first`: pick i gets instance "i<first+i>". */
function answerInOrder(call: Call, first: number): void {
  call.answer({
    ok: true,
    instances: call.excludes.map((_, i) => ({ id: `i${first + i}`, url: "http://127.0.0.1:1", weight: 1, zone: null })),
    allUnhealthy: false,
    version: 7,
  });
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("strict pick batcher", () => {
  it("sends an idle pick at once, then one RPC for every pick that queued behind it, in order", async () => {
    const { env: fake, calls } = fakeCoordinator();
    const ctx = createExecutionContext();
    const service = uniqueName("sb");
    const first = strictPick(fake, ctx, service, []);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.excludes).toEqual([[]]);
    const queued = [strictPick(fake, ctx, service, ["a"]), strictPick(fake, ctx, service, []), strictPick(fake, ctx, service, ["b", "c"])];
    await tick();
    expect(calls).toHaveLength(1);
    answerInOrder(calls[0] as Call, 0);
    expect((await first).instance?.id).toBe("i0");
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1]?.excludes).toEqual([["a"], [], ["b", "c"]]);
    answerInOrder(calls[1] as Call, 1);
    expect((await Promise.all(queued)).map((p) => p.instance?.id)).toEqual(["i1", "i2", "i3"]);
    expect((await queued[0])?.version).toBe(7);
    await waitOnExecutionContext(ctx);
  });

  it(`splits a queue longer than ${MAX_PICKS_PER_BATCH} picks over several RPCs`, async () => {
    const { env: fake, calls } = fakeCoordinator();
    const ctx = createExecutionContext();
    const service = uniqueName("sb");
    const first = strictPick(fake, ctx, service, []);
    const queued = Array.from({ length: MAX_PICKS_PER_BATCH + 6 }, () => strictPick(fake, ctx, service, []));
    answerInOrder(calls[0] as Call, 0);
    await first;
    await tick();
    expect(calls[1]?.excludes).toHaveLength(MAX_PICKS_PER_BATCH);
    answerInOrder(calls[1] as Call, 1);
    await tick();
    expect(calls[2]?.excludes).toHaveLength(6);
    answerInOrder(calls[2] as Call, 1 + MAX_PICKS_PER_BATCH);
    const ids = (await Promise.all(queued)).map((p) => p.instance?.id);
    expect(ids).toEqual(Array.from({ length: MAX_PICKS_PER_BATCH + 6 }, (_, i) => `i${i + 1}`));
    await waitOnExecutionContext(ctx);
  });

  it("fails every pick of a batch the coordinator rejects or refuses, and the next pick starts afresh", async () => {
    const { env: fake, calls } = fakeCoordinator();
    const ctx = createExecutionContext();
    const service = uniqueName("sb");
    const first = strictPick(fake, ctx, service, []);
    const second = strictPick(fake, ctx, service, []);
    (calls[0] as Call).fail(new Error("Durable Object reset"));
    await expect(first).rejects.toThrow("Durable Object reset");
    await tick();
    (calls[1] as Call).answer({ ok: false, error: "too_many_picks", max: MAX_PICKS_PER_BATCH });
    await expect(second).rejects.toThrow(/refused the batch: too_many_picks/);
    const third = strictPick(fake, ctx, service, []);
    expect(calls).toHaveLength(3);
    answerInOrder(calls[2] as Call, 0);
    expect((await third).instance?.id).toBe("i0");
    await waitOnExecutionContext(ctx);
  });

  it("gives up on a coordinator that never answers, and does not leave the queue stuck behind it", async () => {
    const { env: fake, calls } = fakeCoordinator();
    const ctx = createExecutionContext();
    const service = uniqueName("sb");
    const started = Date.now();
    const hung = strictPick(fake, ctx, service, []);
    const behind = strictPick(fake, ctx, service, []);
    await expect(hung).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(PICK_TIMEOUT_MS - 50);
    // The queued pick goes out in its own RPC as soon as the hung one is given up.
    await tick();
    expect(calls).toHaveLength(2);
    answerInOrder(calls[1] as Call, 0);
    expect((await behind).instance?.id).toBe("i0");
    await waitOnExecutionContext(ctx);
  });

  it("fails a batch whose stub throws before sending, without blocking the picks after it", async () => {
    const { env: fake, calls } = fakeCoordinator();
    let broken = true;
    const services = {
      idFromName: (n: string) => fake.SERVICES.idFromName(n),
      get: (id: DurableObjectId) => {
        if (broken) {
          broken = false;
          return { pickBatch: () => {
            throw new Error("stub could not be used");
          } };
        }
        return fake.SERVICES.get(id);
      },
    } as unknown as Env["SERVICES"];
    const flaky = { ...fake, SERVICES: services };
    const ctx = createExecutionContext();
    const service = uniqueName("sb");
    await expect(strictPick(flaky, ctx, service, [])).rejects.toThrow("stub could not be used");
    const next = strictPick(flaky, ctx, service, []);
    expect(calls).toHaveLength(1);
    answerInOrder(calls[0] as Call, 0);
    expect((await next).instance?.id).toBe("i0");
    await waitOnExecutionContext(ctx);
  });
});
