import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CLAIM_MS,
  CLAIM_POLLS_MS,
  CLAIM_SETTLE_MS,
  claimOrFollow,
  type ClaimOutcome,
  type ClaimRules,
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

const rules = (overrides: Partial<ClaimRules<Copy>> = {}): ClaimRules<Copy> => ({
  usable: (c) => c.generation === 1,
  abandon: () => false,
  settle: true,
  ...overrides,
});

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
  const outcomes: ClaimOutcome<Copy>[] = [];
  const runs = starts.map(async (start, i) => {
    await clock.after(start);
    const outcome = await claimOrFollow(store, `isolate-${i}`, rules());
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
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the reviewer's trace: a long copy read before the claim read cannot make a second asker", async () => {
    // A: reads 0 ms, put 5 ms. B starts at 1 ms; had it read the claim before a 19 ms copy read, its put would land
    // after A's read back. Reading the claim last puts B's put within one call of its claim read.
    const outcomes = await play({ starts: [0, 1], latencies: [0, 0, 5, 19, 0, 19, 0, 0, 0, 0], askMs: 10 });
    expect(askers(outcomes)).toBe(1);
  });

  it("a claimer slower than the claim: its followers put one new claimer in its place, not one each", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: CLAIM_SETTLE_MS - 1 }), { minLength: 1, maxLength: 16 }),
        fc.integer({ min: CLAIM_MS, max: CLAIM_MS + 200 }),
        async (starts, latencies, askMs) => {
          const outcomes = await play({ starts, latencies, askMs });
          expect(outcomes).toHaveLength(starts.length);
          expect(askers(outcomes)).toBeGreaterThanOrEqual(1);
          expect(askers(outcomes)).toBeLessThanOrEqual(2);
        },
      ),
      { numRuns: 100 },
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
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a claimer that never answers: a follower claims in its place once the claim lapses, and asks", async () => {
    const clock = new Clock();
    let claim: RefreshClaim | null = { id: "gone", at: 0 };
    const store: ClaimStore<Copy> = {
      readCopy: async () => ({ generation: 0 }),
      readClaim: async () => claim,
      putClaim: async (c) => {
        claim = c;
      },
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    let finishedAt = -1;
    const running = (async () => {
      await clock.after(100);
      const outcome = await claimOrFollow(store, "me", rules());
      finishedAt = clock.now;
      return outcome;
    })();
    await clock.run();
    expect(await running).toEqual({ kind: "ask" });
    expect(claim).toEqual({ id: "me", at: CLAIM_MS });
    expect(finishedAt).toBe(CLAIM_MS + CLAIM_SETTLE_MS);
  });

  it("a follower reads the copy only at the claim's poll points still ahead", async () => {
    const clock = new Clock();
    const reads: number[] = [];
    const store: ClaimStore<Copy> = {
      readCopy: async () => {
        reads.push(clock.now);
        return { generation: 0 };
      },
      readClaim: async () => ({ id: "leader", at: 0 }),
      putClaim: async () => {
        throw new Error("stop after the first round");
      },
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    const running = (async () => {
      await clock.after(80);
      return claimOrFollow(store, "me", rules()).catch((err: unknown) => String(err));
    })();
    await clock.run();
    expect(await running).toContain("stop after the first round");
    // Its own first read, then the points after 80 ms, then the second round's read.
    expect(reads).toEqual([80, ...CLAIM_POLLS_MS.filter((p) => p > 80), CLAIM_MS]);
  });

  it("a follower that marks an instance down meanwhile stops waiting and asks at the next poll point", async () => {
    const clock = new Clock();
    let marked = false;
    const store: ClaimStore<Copy> = {
      readCopy: async () => (clock.now >= 100 ? { generation: 1 } : { generation: 0 }),
      readClaim: async () => ({ id: "leader", at: 0 }),
      putClaim: async () => {},
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    void clock.after(50).then(() => {
      marked = true;
    });
    const running = claimOrFollow(store, "me", rules({ abandon: () => marked }));
    await clock.run();
    // The leader's copy (there from 100 ms) predates the mark: not adopted.
    expect(await running).toEqual({ kind: "ask" });
  });

  it("a refresh a request waits on claims and asks at once; an isolate falling due after it follows", async () => {
    const clock = new Clock();
    let claim: RefreshClaim | null = null;
    let copy: Copy = { generation: 0 };
    const store: ClaimStore<Copy> = {
      readCopy: async () => copy,
      readClaim: async () => claim,
      putClaim: async (c) => {
        claim = c;
      },
      sleep: (ms) => clock.after(ms),
      now: () => clock.now,
    };
    const waited = claimOrFollow(store, "waited", rules({ settle: false }));
    const later = (async () => {
      await clock.after(5);
      return claimOrFollow(store, "later", rules());
    })();
    void clock.after(40).then(() => {
      copy = { generation: 1 };
    });
    await clock.run();
    expect(await waited).toEqual({ kind: "ask" });
    expect(await later).toEqual({ kind: "adopt", copy: { generation: 1 } });
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
    const running = claimOrFollow(store, "me", rules());
    await clock.run();
    expect(await running).toEqual({ kind: "ask" });
    expect(put).toEqual({ id: "me", at: 0 });
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
    const running = claimOrFollow(store, "me", rules());
    await clock.run();
    expect(await running).toEqual({ kind: "ask" });
  });
});
