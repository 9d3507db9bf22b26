import { describe, expect, it } from "vitest";
import { MAX_BUFFERED_BODY_BYTES } from "../../../src/core/proxy/body-length.js";
import { BodyFailed, BodyHead, watchBody, type BodyFailure } from "../../../src/edge/proxy/body-watch.js";
import { readAhead } from "../../../src/edge/proxy/read-ahead.js";

/** An origin's body, fed by the test: chunks, an end or an error, each when the test says. */
function originBody(): { body: ReadableStream<Uint8Array>; send: (text: string) => void; end: () => void; cut: (message: string) => void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    send: (text) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
    cut: (message) => controller.error(new Error(message)),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a client reading the relayed stream gets: its text, or the error it fails with. */
async function relayed(head: BodyHead, failures: BodyFailure[] = []): Promise<string> {
  const stream = watchBody(head, 5_000, null, (why) => failures.push(why));
  try {
    return await new Response(stream).text();
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

describe("readAhead", () => {
  it("returns the whole body, joined, when it ends within the hold", async () => {
    const origin = originBody();
    const result = readAhead(origin.body, 1_000);
    origin.send("par");
    await sleep(10);
    origin.send("tial-");
    origin.send("whole");
    origin.end();
    const body = await result;
    expect(body).toBeInstanceOf(ArrayBuffer);
    expect(new TextDecoder().decode(body as ArrayBuffer)).toBe("partial-whole");
  });

  it("returns an empty body as zero bytes", async () => {
    const origin = originBody();
    origin.end();
    const body = await readAhead(origin.body, 1_000);
    expect((body as ArrayBuffer).byteLength).toBe(0);
  });

  it("fails the try, unsized, when the body breaks within the hold", async () => {
    const origin = originBody();
    const result = readAhead(origin.body, 1_000);
    origin.send("partial-");
    await sleep(10);
    origin.cut("Network connection lost.");
    const failed = await result;
    expect(failed).toBeInstanceOf(BodyFailed);
    expect([(failed as BodyFailed).why, (failed as BodyFailed).sized, (failed as BodyFailed).message]).toEqual(["reset", false, "Network connection lost."]);
  });

  it("streams a body still coming when the hold runs out, from the read it was waiting on, losing nothing", async () => {
    const origin = originBody();
    const started = Date.now();
    const result = readAhead(origin.body, 80);
    origin.send("chunk-0;");
    const head = await result;
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(head).toBeInstanceOf(BodyHead);
    expect((head as BodyHead).chunks).toHaveLength(1);
    expect((head as BodyHead).pending).not.toBeNull();
    const text = relayed(head as BodyHead);
    origin.send("chunk-1;");
    await sleep(20);
    origin.send("chunk-2;");
    origin.end();
    expect(await text).toBe("chunk-0;chunk-1;chunk-2;");
  });

  it("streams a body larger than the cap as soon as the cap is passed, not at the end of the hold", async () => {
    const origin = originBody();
    const started = Date.now();
    const result = readAhead(origin.body, 5_000);
    const piece = "x".repeat(16 * 1024);
    for (let i = 0; i * piece.length <= MAX_BUFFERED_BODY_BYTES; i++) origin.send(piece);
    const head = await result;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(head).toBeInstanceOf(BodyHead);
    expect((head as BodyHead).pending).toBeNull();
    const text = relayed(head as BodyHead);
    origin.send("tail");
    origin.end();
    const whole = await text;
    expect(whole.length).toBe((MAX_BUFFERED_BODY_BYTES / piece.length + 1) * piece.length + 4);
    expect(whole.endsWith("xtail")).toBe(true);
  });

  it("hands a break after the hold to the watcher: the client's stream errors and the failure is counted", async () => {
    const origin = originBody();
    const result = readAhead(origin.body, 50);
    origin.send("partial-");
    const head = await result;
    const failures: BodyFailure[] = [];
    const text = relayed(head as BodyHead, failures);
    origin.cut("Network connection lost.");
    expect(await text).toBe("error: Network connection lost.");
    expect(failures).toEqual(["reset"]);
  });

  it("streams at the end of the hold a body that has sent nothing yet", async () => {
    const origin = originBody();
    const head = await readAhead(origin.body, 50);
    expect(head).toBeInstanceOf(BodyHead);
    expect((head as BodyHead).chunks).toHaveLength(0);
    const text = relayed(head as BodyHead);
    origin.send("late");
    origin.end();
    expect(await text).toBe("late");
  });
});
