import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CLAIM_MS,
  CLAIM_POLL_MS,
  CLAIM_SETTLE_MS,
  claimOrFollow,
  type ClaimOutcome,
  type ClaimStore,
  type RefreshClaim,
} from "../../../src/core/location-share/refresh-claim.js";

/**
 * The claim rule played out in virtual time: a location's isolates fall due at
 * chosen instants over one last-writer-wins store whose calls each take a
 * chosen latency (the value is read, or written, when the call completes). An
 * isolate that asks answers `askMs` later and puts the new copy.
 */
interface Copy {
  generation: number;
}

class Clock {
  now = 0;
  #seq = 0;
  #timers: { at: number; seq: number; fire: () => void }[] = [];
  after(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timers.push({ at: this.now + ms, seq: this.#seq++, fire: resolve }));
  }
  /** Fires timers in time order, letting every continuation run before the next. */
  async run(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (this.#timers.length === 0) return;
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers.shift();
      if (next === undefined) return;
      this.now = next.at;
      next.fire();
    }
  }
}

interface Scenario {
  starts: number[];
  /** Latency of every store call, drawn in turn from this list. */
  latencies: number[];
  askMs: number;
}

async function play({ starts, latencies, askMs }: Scenario) {
  const clock = new Clock();
  let copy: Copy = { generation: 0 };
  let claim: RefreshClaim | null = null;
  let call = 0;
  const latency = () => latencies[call++ % latencies.length] ?? 0;
  const store: ClaimStore<Copy> = {
    readCopy: async () => {
      await clock.after(latency());
      return copy;
    },
    readClaim: async () => {
      await clock.after(latency());
      return claim;
    },
    putClaim: async (c) => {
      await clock.after(latency());
      claim = c;
    },
    sleep: (ms) => clock.after(ms),
    now: () => clock.now,
  };
  const usable = (c: Copy) => c.generation === 1;
  const outcomes: ClaimOutcome<Copy>[] = [];
  const runs = starts.map(async (start, i) => {
    await clock.after(start);
    const outcome = await claimOrFollow(store, `isolate-${i}`, usable);
    outcomes.push(outcome);
    if (outcome.kind === "ask") {
      await clock.after(askMs);
      await clock.after(latency());
      copy = { generation: 1 };
    }
  });
  const done = Promise.all(runs);
  await clock.run();
  await done;
  return outcomes;
}

const askers = (outcomes: ClaimOutcome<Copy>[]) => outcomes.filter((o) => o.kind === "ask").length;

describe("refresh claim: which isolate of a location asks the coordinator", () => {
  it("isolates falling due at the same instant: one asks, the rest adopt its copy", async () => {
    const outcomes = await play({ starts: Array<number>(8).fill(0), latencies: [1, 3, 2, 5], askMs: 20 });
    expect(askers(outcomes)).toBe(1);
    expect(outcomes.filter((o) => o.kind === "adopt")).toHaveLength(7);
  });

  it("with store calls shorter than the settle wait, exactly one of a wave asks, whatever the timing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: CLAIM_SETTLE_MS - 1 }), { minLength: 1, maxLength: 16 }),
        // The asker answers well inside the claim: settle, three store calls and the RPC.
        fc.integer({ min: 0, max: CLAIM_MS - CLAIM_SETTLE_MS - 5 * CLAIM_SETTLE_MS }),
        async (starts, latencies, askMs) => {
          const outcomes = await play({ starts, latencies, askMs });
          expect(outcomes).toHaveLength(starts.length);
          expect(askers(outcomes)).toBe(1);
          for (const o of outcomes) if (o.kind === "adopt") expect(o.copy.generation).toBe(1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("whatever the store's and the coordinator's speed, every isolate finishes, at least one asks, and no stale copy is adopted", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 16 }),
        fc.integer({ min: 0, max: 2_000 }),
        async (starts, latencies, askMs) => {
          const outcomes = await play({ starts, latencies, askMs });
          expect(outcomes).toHaveLength(starts.length);
          expect(askers(outcomes)).toBeGreaterThanOrEqual(1);
          for (const o of outcomes) if (o.kind === "adopt") expect(o.copy.generation).toBe(1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a leader that never answers: its followers ask once its claim lapses, no later", async () => {
    const clock = new Clock();
    const store: ClaimStore<Copy> = {
      readCopy: async () => ({ generation: 0 }),
      readClaim: async () => ({ id: "gone", at: 0 }),
      putClaim: async () => {
        throw new Error("a follower must not claim");
      },
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    let finishedAt = -1;
    const running = (async () => {
      await clock.after(100);
      const outcome = await claimOrFollow(store, "me", (c) => c.generation === 1);
      finishedAt = clock.now;
      return outcome;
    })();
    await clock.run();
    expect(await running).toEqual({ kind: "ask", led: false });
    expect(finishedAt).toBeGreaterThanOrEqual(CLAIM_MS);
    expect(finishedAt).toBeLessThan(CLAIM_MS + CLAIM_POLL_MS);
  });

  it("a claim from far ahead of this clock is not followed (a skewed clock cannot hold a location back)", async () => {
    const clock = new Clock();
    let put: RefreshClaim | null = null;
    const store: ClaimStore<Copy> = {
      readCopy: async () => ({ generation: 0 }),
      readClaim: async () => put ?? { id: "future", at: 10 * CLAIM_MS },
      putClaim: async (c) => {
        put = c;
      },
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    const running = claimOrFollow(store, "me", (c) => c.generation === 1);
    await clock.run();
    expect(await running).toEqual({ kind: "ask", led: true });
  });

  it("a store that drops the claim: the claimer asks rather than wait for nobody", async () => {
    const clock = new Clock();
    const store: ClaimStore<Copy> = {
      readCopy: async () => null,
      readClaim: async () => null,
      putClaim: async () => {},
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    const running = claimOrFollow(store, "me", () => true);
    await clock.run();
    expect(await running).toEqual({ kind: "ask", led: true });
  });
});
