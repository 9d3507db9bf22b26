import { describe, expect, it } from "vitest";
import { AdminQueue } from "../../../src/core/admin/admin-queue.js";

/** A promise and the function that settles it, so a test decides when an operation ends. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("AdminQueue: one call at a time, in order", () => {
  it("runs each operation after the one before it has answered, in the order the calls came", async () => {
    const queue = new AdminQueue(() => 0);
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
    await Promise.resolve();
    expect(log).toEqual(["a starts"]);
    first.open();
    expect([await a, await b]).toEqual(["a", "b"]);
    expect(log).toEqual(["a starts", "a ends", "b runs"]);
  });

  it("one failing operation does not stop the next; its caller gets the error", async () => {
    const queue = new AdminQueue(() => 0);
    const failed = queue.run("bad", async () => {
      throw new Error("KV said no");
    });
    const next = queue.run("good", async () => "ran");
    await expect(failed).rejects.toThrow("KV said no");
    expect(await next).toBe("ran");
  });
});

describe("AdminQueue: what it remembers of its calls", () => {
  it("a call still waiting its turn, however long, and an answered one for 10 s: past that it runs again", async () => {
    let now = 0;
    const queue = new AdminQueue(() => now);
    let runs = 0;
    const op = async () => ++runs;
    const held = gate();
    const first = queue.run("held", async () => {
      await held.opened;
      return ++runs;
    });
    const behind = queue.run("a", op);
    now = 60_000;
    expect(queue.run("a", op)).toBe(behind);
    held.open();
    expect([await first, await behind]).toEqual([1, 2]);
    now = 69_000;
    expect(await queue.run("a", op)).toBe(2);
    now = 70_001;
    expect(await queue.run("a", op)).toBe(3);
  });

  it("at most 64 calls, the oldest forgotten first", async () => {
    const queue = new AdminQueue(() => 0);
    let runs = 0;
    const op = async () => ++runs;
    for (let i = 0; i < 65; i++) await queue.run(`k${i}`, op);
    expect(await queue.run("k64", op)).toBe(65);
    expect(await queue.run("k1", op)).toBe(2);
    expect(await queue.run("k0", op)).toBe(66);
  });
});
