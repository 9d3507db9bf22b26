import { describe, expect, it } from "vitest";
import { ADMIN_WRITE_WAIT_MS, AdminQueue, WRITE_OVERRAN, type Turn } from "../../../src/core/admin/admin-queue.js";
import { STUB_RETRY, withStubRetry } from "../../../src/core/rpc/stub-retry.js";
import { FakeClock } from "./fake-clock.js";

/** What the platform throws when a call may not have reached the object (a reset): withStubRetry tries again. */
const resetError = () => Object.assign(new Error("Durable Object reset"), { retryable: true });

/**
 * A write's route claim is one RPC retried once by withStubRetry (coordinator/outbound/route-claims.ts).
 * The retry is a new claim sent after the first failed: once the queue has passed the write, a later
 * write's claim may already have landed, and this one, sent after it, would take its routes back.
 */
describe("a passed write's retried RPC", () => {
  it("is not sent once the queue has moved on past the write", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    const sent: string[] = [];
    // The route registry as the writes see it: the first claim hangs 12 s, then fails as a reset does.
    const registryPut = async (who: string, attempt: number): Promise<string> => {
      sent.push(`${who} ${attempt} at ${clock.now()}`);
      if (who === "a" && attempt === 0) {
        await clock.sleep(12_000);
        throw resetError();
      }
      return who;
    };
    const claim = (who: string, turn: Turn) =>
      withStubRetry((attempt) => registryPut(who, attempt), { ...STUB_RETRY, random: () => 0.5, sleep: (ms) => clock.sleep(ms), stop: () => turn.passed });
    const a = queue.run("a", async (turn) => {
      try {
        return await claim("a", turn);
      } catch {
        return "a failed";
      }
    });
    // b comes a second later, so it is still within its own bound when the queue moves on past a.
    await clock.advance(1_000);
    const b = queue.run("b", (turn) => claim("b", turn));
    await clock.advance(20_000);
    expect(await a).toEqual(WRITE_OVERRAN);
    expect(await b).toBe("b");
    // b claimed at 10 s, when a was passed; a's retry would have followed at 12.05 s, over b's claim.
    expect(sent).toEqual(["a 0 at 0", `b 0 at ${ADMIN_WRITE_WAIT_MS}`]);
  });
});
