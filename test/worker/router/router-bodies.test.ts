import { afterEach, describe, expect, it } from "vitest";
import { control, exchange, mesh, originUrls, resetOrigins, serviceWith, stubFor } from "../helpers.js";

/**
 * Bodies in both directions: Expect: 100-continue, uploads the client
 * abandons, and origin bodies that break or stall half-way. The faulty answers
 * come from the real loopback origins (scripts/lib/origin.mjs, `x-origin-fault`).
 */

interface Echo {
  origin: string;
  headers: Record<string, string>;
  body: string;
}

afterEach(async () => {
  await resetOrigins();
});

const readText = (res: Response): Promise<string> => res.text();
const readError = (res: Response): Promise<string> =>
  res.text().then(
    (text) => `no error, body ${JSON.stringify(text)}`,
    (err: unknown) => `error: ${String(err)}`,
  );

async function failuresOf(name: string): Promise<number[]> {
  return (await stubFor(name).describe()).instances.map((i) => i.failures);
}

describe("Expect: 100-continue", () => {
  it("answers a GET that carries it with the origin's 200, and never forwards Expect upstream", async () => {
    const { name } = await serviceWith(1);
    const { res, read } = await exchange(`http://mesh.test/${name}/e`, { headers: { expect: "100-continue" } }, readText);
    expect(res.status).toBe(200);
    const echo = JSON.parse(read) as Echo;
    expect(echo.headers.expect).toBeUndefined();
  });

  it("passes a streamed POST over the retry cap to the origin with its Content-Length", async () => {
    const { name } = await serviceWith(1);
    const size = 1_500_000;
    const { res, read } = await exchange(
      `http://mesh.test/${name}/big`,
      { method: "POST", body: "a".repeat(size), headers: { expect: "100-continue", "content-length": String(size) } },
      readText,
    );
    expect(res.status).toBe(200);
    const echo = JSON.parse(read) as Echo;
    expect(echo.body).toHaveLength(size);
    expect(echo.headers["content-length"]).toBe(String(size));
    expect(echo.headers["transfer-encoding"]).toBeUndefined();
  });
});

describe("an upload the client abandons", () => {
  // 5 bytes of a body declared (or streamed) as much larger, then the client's stream fails.
  const abandoned = (): ReadableStream<Uint8Array> => {
    let sent = false;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) {
          controller.error(new Error("client went away"));
          return;
        }
        sent = true;
        controller.enqueue(new TextEncoder().encode("hello"));
      },
    });
  };

  for (const [label, headers] of [
    ["sized over the retry cap", { "content-length": "2000000" }],
    ["chunked", {}],
  ] as const) {
    it(`(${label}) is a 400 client_error that counts against no origin`, async () => {
      const { name } = await serviceWith(2);
      for (let i = 0; i < 4; i++) {
        const { res, read, logs } = await exchange(`http://mesh.test/${name}/up`, { method: "POST", body: abandoned(), headers }, readText);
        expect(res.status).toBe(400);
        expect(JSON.parse(read)).toMatchObject({ error: "client_error" });
        expect(logs.find((e) => e.event === "request")).toMatchObject({ outcome: "client_error", status: 400, failures: [] });
      }
      expect(await failuresOf(name)).toEqual([0, 0]);
    });
  }
});

/** A streamed upload of `chunks` chunks of "x" declared at their total length, one every `gapMs`; `stallAfter` chunks, then nothing. */
function trickle(chunks: number, gapMs: number, stallAfter = chunks): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === stallAfter) return new Promise<void>(() => undefined);
      if (sent > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      sent++;
      controller.enqueue(new TextEncoder().encode("x"));
      if (sent === chunks) controller.close();
    },
  });
}

describe("an upload the client sends slowly", () => {
  // Over the retry cap, so it streams; the declared length is never reached.
  const stalledHeaders = { "content-length": "2000000" };

  it("that stalls is a 400 client_error after retry.bodyIdleTimeoutMs, not a timeout charged to the origin", async () => {
    const { name } = await serviceWith(1, { retry: { perTryTimeoutMs: 300, bodyIdleTimeoutMs: 1_000 } });
    const started = Date.now();
    const { res, read, logs } = await exchange(`http://mesh.test/${name}/up`, { method: "POST", body: trickle(3, 10, 1), headers: stalledHeaders }, readText);
    expect(res.status).toBe(400);
    expect(JSON.parse(read)).toMatchObject({ error: "client_error" });
    expect(logs.find((e) => e.event === "request")).toMatchObject({ outcome: "client_error", failures: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(await failuresOf(name)).toEqual([0]);
  });

  // Chunked, so it streams to the origin while it arrives.
  it("that keeps coming for longer than retry.perTryTimeoutMs reaches the origin whole", async () => {
    const { name } = await serviceWith(1, { retry: { perTryTimeoutMs: 300 } });
    const { res, read } = await exchange(`http://mesh.test/${name}/up`, { method: "POST", body: trickle(8, 100) }, readText);
    expect(res.status).toBe(200);
    expect((JSON.parse(read) as Echo).body).toBe("xxxxxxxx");
    expect(await failuresOf(name)).toEqual([0]);
  });

  it("reports the origin's own time as the try's latency, not the upload's, to the balancers and the coordinator", async () => {
    const { name } = await serviceWith(1, { retry: { perTryTimeoutMs: 300 } });
    const started = Date.now();
    const { res } = await exchange(`http://mesh.test/${name}/up`, { method: "POST", body: trickle(8, 100) }, readText);
    expect(res.status).toBe(200);
    // The upload took about 700 ms; the loopback origin answers as soon as it has the body.
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    const shown = (await stubFor(name).describe()).instances[0];
    expect(shown?.requests).toBe(1);
    expect(shown?.meanLatencyMs).toBeLessThan(300);
  });

  it("still times out an origin that takes the whole body and then does not answer", async () => {
    const { name } = await serviceWith(1, { retry: { perTryTimeoutMs: 300 } });
    await control(originUrls()[0] ?? "", { delayMs: 2_000 });
    const started = Date.now();
    const { res } = await exchange(`http://mesh.test/${name}/up`, { method: "POST", body: trickle(2, 50) }, readText);
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await failuresOf(name)).toEqual([1]);
  });
});

describe("an origin body that breaks or stalls half-way", () => {
  // Sized: relayed with its length, so the cut aborts the client's connection. Unsized with readAheadMs 0:
  // streamed at once, and errored (workerd then ends it cleanly over HTTP: cloudflare/workerd#6818). A cut
  // after a hold that ran out is handed to the same watcher (read-ahead.test.ts).
  for (const [fault, retry] of [
    ["reset-mid-sized-body", {}],
    ["reset-mid-body", { readAheadMs: 0 }],
  ] as const) {
    it(`(${fault}, readAheadMs ${"readAheadMs" in retry ? retry.readAheadMs : "default"}) errors the client's stream and counts against the origin`, async () => {
      const { name } = await serviceWith(1, { retry });
      const { res, read } = await exchange(`http://mesh.test/${name}/cut`, { headers: { "x-origin-fault": fault } }, readError);
      expect(res.status).toBe(200);
      expect(read).toMatch(/^error: /);
      expect(await failuresOf(name)).toEqual([1]);
    });
  }

  it("aborts a body idle for retry.bodyIdleTimeoutMs, and counts it against the origin", async () => {
    const { name } = await serviceWith(1, { retry: { bodyIdleTimeoutMs: 300 } });
    const started = Date.now();
    const { res, read } = await exchange(`http://mesh.test/${name}/stall`, { headers: { "x-origin-fault": "hang-mid-body" } }, readError);
    expect(res.status).toBe(200);
    expect(read).toContain("origin sent no body data for 300 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await failuresOf(name)).toEqual([1]);
  });

  // A small sized body is read whole by the try (no watcher stream); the idle limit bounds that read.
  it("aborts a small sized body that stalls, keeping its Content-Length, and counts it against the origin", async () => {
    const { name } = await serviceWith(1, { retry: { bodyIdleTimeoutMs: 300 } });
    const started = Date.now();
    const { res, read } = await exchange(`http://mesh.test/${name}/stall`, { headers: { "x-origin-fault": "hang-mid-sized-body" } }, readError);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(read).toContain("origin sent no body data for 300 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await failuresOf(name)).toEqual([1]);
  });

  // Read whole (sized) or ahead (unsized, cut within retry.readAheadMs), a small body that fails has
  // sent the client nothing: the try fails over instead.
  for (const fault of ["reset-mid-sized-body", "hang-mid-sized-body", "reset-mid-body"]) {
    it(`(${fault} on one origin of two) fails a GET over to the other origin before the client sees anything`, async () => {
      // A read-ahead hold well past the unsized cut (50 ms after the first chunk), so a slow machine cannot race it.
      const { name } = await serviceWith(2, { retry: { bodyIdleTimeoutMs: 300, readAheadMs: 2_000 } });
      const [faulty = "", healthy = ""] = originUrls();
      await control(faulty, { fault });
      const healthyName = (JSON.parse(await (await fetch(`${healthy}/who`)).text()) as Echo).origin;
      const events: Record<string, unknown>[] = [];
      for (let i = 0; i < 4; i++) {
        const { res, read, logs } = await exchange(`http://mesh.test/${name}/item`, {}, readText);
        expect(res.status).toBe(200);
        expect((JSON.parse(read) as Echo).origin).toBe(healthyName);
        events.push(...logs.filter((e) => e.event === "request"));
      }
      // The faulty origin was tried (round-robin over two), counted as failed, and never answered.
      const failovers = events.filter((e) => (e.attempts as number) === 2);
      expect(failovers.length).toBeGreaterThanOrEqual(1);
      for (const e of failovers) expect(e.failures).toEqual([fault.startsWith("reset") ? "reset" : "timeout"]);
      expect((await failuresOf(name)).reduce((a, b) => a + b, 0)).toBe(failovers.length);
    });
  }

  it("relays a POST's failed small body as it came: a non-idempotent request is not resent after a reset", async () => {
    const { name } = await serviceWith(2);
    for (const url of originUrls()) await control(url, { fault: "reset-mid-sized-body" });
    const { res, read } = await exchange(`http://mesh.test/${name}/order`, { method: "POST", body: "{}" }, readError);
    expect(res.status).toBe(200);
    expect(read).toMatch(/^error: /);
    expect((await failuresOf(name)).reduce((a, b) => a + b, 0)).toBe(1);
  });

  // The try had been counted a success when its headers came; the broken body turns it into one failure, not a second try.
  for (const [fault, method] of [
    ["reset-mid-body", "GET"],
    ["reset-mid-sized-body", "POST"],
  ] as const) {
    it(`(${fault}, ${method}) counts the try once, as a failure`, async () => {
      // Streamed, so the body breaks after the answer was counted (readAheadMs 0; a sized one is read whole).
      const { name } = await serviceWith(1, { retry: { readAheadMs: 0 } });
      await control(originUrls()[0] ?? "", { fault });
      const { read } = await exchange(`http://mesh.test/${name}/once`, { method, ...(method === "POST" ? { body: "{}" } : {}) }, readError);
      expect(read).toMatch(/^error: /);
      const [instance] = (await stubFor(name).describe()).instances;
      expect([instance?.requests, instance?.failures]).toEqual([1, 1]);
    });
  }

  // Unsized and cut while read ahead, a body cannot be relayed as the failure it is: workerd would end it
  // with a clean last chunk, a complete-looking answer. The try failed, and with no retry left it is a 502.
  for (const method of ["GET", "POST"] as const) {
    it(`(reset-mid-body within retry.readAheadMs, ${method}, no retry left) is a 502, counted once, never a cleanly ended 200`, async () => {
      const { name } = await serviceWith(2, { retry: { readAheadMs: 2_000 } });
      for (const url of originUrls().slice(0, 2)) await control(url, { fault: "reset-mid-body" });
      // A GET is tried on both origins; a POST once (a non-idempotent request is not resent after a reset).
      const { res, read } = await exchange(`http://mesh.test/${name}/once`, { method, ...(method === "POST" ? { body: "{}" } : {}) }, readText);
      expect(res.status).toBe(502);
      expect((JSON.parse(read) as { error: string }).error).toBe("upstream_unavailable");
      const instances = (await stubFor(name).describe()).instances;
      const tries = method === "GET" ? 2 : 1;
      expect(instances.reduce((n, i) => n + i.requests, 0)).toBe(tries);
      expect(instances.reduce((n, i) => n + i.failures, 0)).toBe(tries);
    });
  }

  it("holds an unsized answer's headers at most retry.readAheadMs, then streams what came and what follows", async () => {
    const { name } = await serviceWith(1, { retry: { readAheadMs: 400, bodyIdleTimeoutMs: 300 } });
    const started = Date.now();
    let headersAfter = 0;
    const { res, read } = await exchange(`http://mesh.test/${name}/held`, { headers: { "x-origin-fault": "hang-mid-body" } }, async (res) => {
      headersAfter = Date.now() - started;
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      const text = new TextDecoder().decode(first.value);
      // The origin sends nothing more: the watcher's idle limit ends the stream from here.
      const rest = await reader.read().then(
        () => "no error",
        (err: unknown) => `error: ${String(err)}`,
      );
      return { text, rest };
    });
    expect(res.status).toBe(200);
    expect(headersAfter).toBeGreaterThanOrEqual(350);
    expect(headersAfter).toBeLessThan(3_000);
    expect(read).toEqual({ text: "partial-", rest: "error: Error: origin sent no body data for 300 ms" });
    expect(await failuresOf(name)).toEqual([1]);
  });

  // The hold is the mesh's wait, after the try's headers came: an origin whose answer is being read ahead is
  // not "stalled" (stall avoidance skips an instance whose try has waited over perTryTimeoutMs / 4 for headers).
  it("does not count a read-ahead hold as a stalled try: other requests still reach that origin meanwhile", async () => {
    const { name } = await serviceWith(2, { retry: { perTryTimeoutMs: 200, readAheadMs: 1_500, bodyIdleTimeoutMs: 5_000 } });
    const held = mesh(`/${name}/held`, { headers: { "x-origin-fault": "hang-mid-body" } });
    // Well past the 50 ms stall threshold, well inside the hold.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const origins = new Set<string>();
    for (let i = 0; i < 4; i++) origins.add((JSON.parse(await (await mesh(`/${name}/during`)).text()) as Echo).origin);
    expect(origins.size).toBe(2);
    const res = await held;
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  // The same cut body, written raw by the origin: a chunk, then the connection closed without the last chunk.
  const cutRaw = (headers: string): string =>
    Buffer.from(`HTTP/1.1 200 OK\r\n${headers}transfer-encoding: chunked\r\n\r\n8\r\npartial-\r\n`).toString("base64");
  for (const [label, headers, status] of [
    ["text/plain", "content-type: text/plain\r\n", 502],
    ["text/event-stream", "content-type: text/event-stream\r\n", 200],
    ["X-Accel-Buffering: no", "content-type: application/x-ndjson\r\nx-accel-buffering: no\r\n", 200],
  ] as const) {
    it(`reads a cut unsized ${label} answer ${status === 502 ? "ahead (a 502)" : "not ahead: it streams (a 200 that errors)"}`, async () => {
      const { name } = await serviceWith(1);
      const { res, read } = await exchange(`http://mesh.test/${name}/raw`, { headers: { "x-origin-fault": "raw", "x-origin-raw": cutRaw(headers) } }, readError);
      expect(res.status).toBe(status);
      if (status === 200) expect(read).toMatch(/^error: /);
      expect(await failuresOf(name)).toEqual([1]);
    });
  }

  it("ejects an origin whose small bodies break at outlier.consecutiveFailures, though its headers came", async () => {
    const { name } = await serviceWith(2, { outlier: { consecutiveFailures: 1 } });
    for (const url of originUrls().slice(0, 2)) await control(url, { fault: "reset-mid-sized-body" });
    const { res } = await exchange(`http://mesh.test/${name}/order`, { method: "POST", body: "{}" }, readError);
    const tried = res.headers.get("x-mesh-instance");
    const instance = (await stubFor(name).describe()).instances.find((i) => i.id === tried);
    expect(instance?.failures).toBe(1);
    expect(instance?.ejectedUntil).not.toBeNull();
  });

  it("does not blame the origin for a client that reads slowly or not at all", async () => {
    const { name } = await serviceWith(1, { retry: { bodyIdleTimeoutMs: 200 } });
    const slow = await exchange(`http://mesh.test/${name}/slow`, {}, async (res) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return res.text();
    });
    expect((JSON.parse(slow.read) as Echo).origin).toMatch(/^wt-/);
    const gone = await exchange(`http://mesh.test/${name}/gone`, { headers: { "x-origin-fault": "hang-mid-body" } }, async (res) => {
      const reader = res.body?.getReader();
      await reader?.read();
      await reader?.cancel("client went away");
      return "cancelled";
    });
    expect(gone.res.status).toBe(200);
    expect(await failuresOf(name)).toEqual([0]);
  });
});
