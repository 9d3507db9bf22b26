import { describe, expect, it } from "vitest";
import { WriteBehind } from "../../../src/coordinator/storage/write-behind.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("WriteBehind", () => {
  it("coalesces every change within the delay into one flush, then arms again for the next change", async () => {
    let flushes = 0;
    const writes = new WriteBehind(20, () => flushes++);
    for (let i = 0; i < 100; i++) writes.due();
    expect(flushes).toBe(0);
    await sleep(60);
    expect(flushes).toBe(1);
    writes.due();
    await sleep(60);
    expect(flushes).toBe(2);
  });

  it("flushNow writes at once and cancels the armed timer, so nothing is written twice", async () => {
    let flushes = 0;
    const writes = new WriteBehind(20, () => flushes++);
    writes.due();
    writes.flushNow();
    expect(flushes).toBe(1);
    await sleep(60);
    expect(flushes).toBe(1);
  });
});
