import { describe, expect, it } from "vitest";
import { ADMIN_WRITE_WAIT_MS, AdminQueue, WRITE_NOT_STARTED, WRITE_OVERRAN, type QueueEvent, type Turn } from "../../../src/core/admin/admin-queue.js";
import { FakeClock, settle } from "./fake-clock.js";

/** A promise and the function that settles it, so a test decides when an operation ends. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Whether a promise has settled yet, and with what, without waiting for it. */
function watch<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
  const seen: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  void promise.then(
    (value) => {
      seen.settled = true;
      seen.value = value;
    },
    () => {
      seen.settled = true;
    },
  );
  return seen;
}

const WAIT = ADMIN_WRITE_WAIT_MS;

describe("AdminQueue: one call at a time, in order", () => {
  it("runs each operation after the one before it has ended, in the order the calls came", async () => {
    const queue = new AdminQueue(new FakeClock());
    const log: string[] = [];
    const first = gate();
    const a = queue.run("a", async () => {
      log.push("a starts");
      await first.opened;
      log.push("a ends");
      return "a";
    });
    const b = queue.run("b", async () => {
      log.push("b runs");
      return "b";
    });
    await settle();
    expect(log).toEqual(["a starts"]);
    first.open();
    expect([await a, await b]).toEqual(["a", "b"]);
    expect(log).toEqual(["a starts", "a ends", "b runs"]);
  });

  it("keeps the order through a backlog of slow calls that each end within the bound", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    const starts: [string, number][] = [];
    const op = (name: string) => async () => {
      starts.push([name, clock.now()]);
      await clock.sleep(1_500);
      return name;
    };
    const answers = ["a", "b", "c", "d", "e", "f"].map((name) => queue.run(name, op(name)));
    await clock.advance(9_100);
    expect(await Promise.all(answers)).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(starts).toEqual([["a", 0], ["b", 1_500], ["c", 3_000], ["d", 4_500], ["e", 6_000], ["f", 7_500]]);
  });

  it("one failing operation does not stop the next; its caller gets the error", async () => {
    const queue = new AdminQueue(new FakeClock());
    const failed = queue.run("bad", async () => {
      throw new Error("KV said no");
    });
    const thrown = queue.run("worse", (): Promise<string> => {
      throw new Error("thrown before any await");
    });
    const next = queue.run("good", async () => "ran");
    await expect(failed).rejects.toThrow("KV said no");
    await expect(thrown).rejects.toThrow("thrown before any await");
    expect(await next).toBe("ran");
  });

  it("leaves no timer set once every call has ended", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    const a = queue.run("a", async () => 1);
    const b = queue.run("b", () => clock.sleep(2_000).then(() => 2));
    await clock.advance(2_000);
    expect([await a, await b]).toEqual([1, 2]);
    expect(clock.pending).toBe(0);
  });
});

describe(`AdminQueue: every caller answered within ${WAIT} ms`, () => {
  it("a call that waits the bound without starting is answered write_not_started, and skipped when its turn comes", async () => {
    const clock = new FakeClock();
    const events: [string, QueueEvent, number][] = [];
    const queue = new AdminQueue(clock, (key, event) => events.push([key, event, clock.now()]));
    const ran: string[] = [];
    const hangs = (name: string) => async () => {
      ran.push(name);
      await new Promise<never>(() => undefined);
    };
    const op = (name: string) => async () => {
      ran.push(name);
      return name;
    };
    const a = watch(queue.run("a", hangs("a")));
    await clock.advance(1_000);
    const c = watch(queue.run("c", hangs("c")));
    const b = queue.run("b", op("b"));
    await clock.advance(11_000);
    // At 10 s the queue moved on past a (which ran the bound) to c; at 11 s b, behind c, was abandoned.
    expect(await b).toEqual(WRITE_NOT_STARTED);
    expect([a.value, c.value]).toEqual([WRITE_OVERRAN, WRITE_OVERRAN]);
    const d = queue.run("d", op("d"));
    await clock.advance(8_000);
    // c passed at 20 s: b's turn came and it was skipped; d, which came after it, ran.
    expect(await d).toBe("d");
    expect(ran).toEqual(["a", "c", "d"]);
    expect(events).toEqual([
      ["a", "overran", 10_000],
      ["a", "passed", 10_000],
      ["c", "overran", 11_000],
      ["b", "abandoned", 11_000],
      ["c", "passed", 20_000],
    ]);
  });

  it("a call whose bound runs out in the instant the line frees is not started", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    let runs = 0;
    const first = queue.run("a", () => clock.sleep(WAIT));
    const second = queue.run("b", async () => ++runs);
    await clock.advance(WAIT);
    expect(await first).toEqual(WRITE_OVERRAN);
    expect(await second).toEqual(WRITE_NOT_STARTED);
    expect(runs).toBe(0);
  });

  it("a running call is answered write_overran at its deadline and left to end; the queue holds for it until it has run the bound", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    const log: [string, number][] = [];
    const op = (name: string, ms: number) => async () => {
      log.push([`${name} starts`, clock.now()]);
      await clock.sleep(ms);
      log.push([`${name} ends`, clock.now()]);
      return name;
    };
    const a = queue.run("a", op("a", 9_000));
    const b = watch(queue.run("b", op("b", 3_000)));
    await clock.advance(10_500);
    expect(await a).toBe("a");
    // b started at 9 s, 1 s before its deadline: answered then, but still running.
    expect(b.value).toEqual(WRITE_OVERRAN);
    const c = queue.run("c", op("c", 100));
    await clock.advance(2_000);
    expect(await c).toBe("c");
    // c waited for b to end (12 s): b had run 3 s, not the bound, so the line held.
    expect(log).toEqual([
      ["a starts", 0],
      ["a ends", 9_000],
      ["b starts", 9_000],
      ["b ends", 12_000],
      ["c starts", 12_000],
      ["c ends", 12_100],
    ]);
  });

  it("moves on past a call that has run the bound; the call's Turn then says it was passed", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    const hung = gate();
    const seen: { turnOfA: Turn | null; bStartedAt: number | null } = { turnOfA: null, bStartedAt: null };
    const a = queue.run("a", async (turn) => {
      seen.turnOfA = turn;
      await hung.opened;
      return turn.passed ? "a stopped" : "a wrote";
    });
    await clock.advance(2_000);
    const b = watch(
      queue.run("b", async (turn) => {
        seen.bStartedAt = clock.now();
        return turn.passed;
      }),
    );
    await clock.advance(WAIT - 2_001);
    expect({ passed: seen.turnOfA?.passed, b: b.settled }).toEqual({ passed: false, b: false });
    await clock.advance(1);
    expect(seen.bStartedAt).toBe(WAIT);
    expect(b.value).toBe(false);
    expect(seen.turnOfA?.passed).toBe(true);
    // Its caller was answered at its deadline; what the operation does after is its own (it stops, as a write does).
    hung.open();
    expect(await a).toEqual(WRITE_OVERRAN);
  });
});

describe("AdminQueue: what it remembers of its calls", () => {
  it("a call waiting its turn: a second delivery gets the first one's answer, and the operation runs once", async () => {
    const queue = new AdminQueue(new FakeClock());
    let runs = 0;
    const held = gate();
    const first = queue.run("held", async () => {
      await held.opened;
      return "held";
    });
    const behind = queue.run("a", async () => ++runs);
    expect(queue.run("a", async () => ++runs)).toBe(behind);
    held.open();
    expect([await first, await behind, runs]).toEqual(["held", 1, 1]);
  });

  it("an ended call, for 10 s after it ended: past that it runs again", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    let runs = 0;
    const op = async () => ++runs;
    const slow = queue.run("a", () => clock.sleep(4_000).then(() => ++runs));
    await clock.advance(4_000);
    expect(await slow).toBe(1);
    await clock.advance(9_999);
    expect(await queue.run("a", op)).toBe(1);
    await clock.advance(2);
    expect(await queue.run("a", op)).toBe(2);
  });

  it("an abandoned call: its retried delivery is refused as it was, and never runs", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    let runs = 0;
    const op = async () => ++runs;
    void queue.run("hung", () => new Promise<never>(() => undefined));
    const first = queue.run("late", op);
    await clock.advance(WAIT);
    expect(await first).toEqual(WRITE_NOT_STARTED);
    await clock.advance(100);
    expect(await queue.run("late", op)).toEqual(WRITE_NOT_STARTED);
    expect(runs).toBe(0);
  });

  it("a call that overran is known while it may still run, whatever else ends meanwhile, and for 10 s after it ended", async () => {
    const clock = new FakeClock();
    const queue = new AdminQueue(clock);
    let runs = 0;
    const hung = gate();
    const op = async () => {
      runs++;
      await hung.opened;
      return "wrote";
    };
    const first = queue.run("put 1", op);
    await clock.advance(WAIT);
    expect(await first).toEqual(WRITE_OVERRAN);
    // The platform's retry of the same call, just after: not run a second time.
    expect(await queue.run("put 1", op)).toEqual(WRITE_OVERRAN);
    // The line moved on: 80 other calls end, more than the 64 ended calls kept.
    for (let i = 0; i < 80; i++) expect(await queue.run(`other ${i}`, async () => i)).toBe(i);
    await clock.advance(60_000);
    expect(await queue.run("put 1", op)).toEqual(WRITE_OVERRAN);
    hung.open();
    await clock.advance(9_999);
    expect(await queue.run("put 1", op)).toEqual(WRITE_OVERRAN);
    expect(runs).toBe(1);
    await clock.advance(2);
    const again = queue.run("put 1", async () => ++runs);
    expect(await again).toBe(2);
  });

  it("at most 64 ended calls, the oldest forgotten first", async () => {
    const queue = new AdminQueue(new FakeClock());
    let runs = 0;
    const op = async () => ++runs;
    for (let i = 0; i < 65; i++) await queue.run(`k${i}`, op);
    expect(await queue.run("k64", op)).toBe(65);
    expect(await queue.run("k1", op)).toBe(2);
    expect(await queue.run("k0", op)).toBe(66);
  });
});
