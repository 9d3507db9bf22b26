import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { registration } from "../../../scripts/lib/registration-client.mjs";

/**
 * The reference origin client against a real loopback "mesh" that misbehaves
 * on purpose: every test bounds its own time, and closes what it opened.
 */
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function mesh(handle: Handler, port = 0): Promise<{ url: string; log: string[] }> {
  const log: string[] = [];
  const s = http.createServer((req, res) => {
    log.push(`${req.method ?? ""} ${req.url ?? ""}`);
    handle(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
  const addr = s.address();
  return { url: `http://127.0.0.1:${addr !== null && typeof addr === "object" ? addr.port : 0}`, log };
}

const registered = (res: http.ServerResponse) =>
  res.writeHead(201, { "content-type": "application/json" }).end('{"id":"0123456789abcdef","leaseExpiresAt":"x","heartbeatUrl":"x"}');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("registration client (scripts/lib/registration-client.mjs)", () => {
  it("stop() settles within its timeout when the mesh accepts the DELETE and never answers", { timeout: 10_000 }, async () => {
    const m = await mesh((req, res) => {
      if (req.method === "POST") registered(res);
      // DELETE: read, never answer (a wedged mesh); Ctrl-C in the demo waited for ever.
    });
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", timeoutMs: 300 });
    await reg.start();
    const started = Date.now();
    await expect(reg.stop()).rejects.toThrow(/deregister http:\/\/127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("keeps at most one heartbeat in flight while the mesh hangs, instead of piling one up every tick", { timeout: 10_000 }, async () => {
    const m = await mesh((req, res) => {
      if (req.method === "POST") registered(res);
      else if (req.method === "DELETE") res.writeHead(200).end("{}");
      // PUT heartbeat: never answered
    });
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", ttlSeconds: 0.15, timeoutMs: 2000 });
    await reg.start(); // heartbeat every 50 ms
    await sleep(700);
    expect(m.log.filter((l) => l.startsWith("PUT")).length).toBe(1);
    await reg.stop();
  });

  it("a heartbeat answered 404 while stop() runs does not register the origin again after it was deregistered", { timeout: 10_000 }, async () => {
    const m = await mesh((req, res) => {
      if (req.method === "POST") registered(res);
      else if (req.method === "DELETE") res.writeHead(200).end("{}");
      else setTimeout(() => res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}'), 300);
    });
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", ttlSeconds: 0.15, timeoutMs: 2000 });
    await reg.start();
    await sleep(80); // the first heartbeat is in flight
    await reg.stop();
    await sleep(500);
    const last = m.log.at(-1) ?? "";
    expect(last).toMatch(/^DELETE /);
    expect(reg.id).toBeNull();
  });
});

/** A loopback port nothing listens on (yet): connections to it are refused. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const addr = s.address();
  await new Promise((r) => s.close(r));
  return addr !== null && typeof addr === "object" ? addr.port : 0;
}

const FAST = { baseDelayMs: 20, maxDelayMs: 100, deadlineMs: 5_000 };
const posts = (log: string[]) => log.filter((l) => l.startsWith("POST")).length;

describe("registration client: start() before the mesh is there", () => {
  it("tries again while the mesh refuses connections, and registers once it listens", { timeout: 10_000 }, async () => {
    const port = await closedPort();
    const lines: string[] = [];
    const reg = registration({ mesh: `http://127.0.0.1:${port}`, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: FAST, log: (l) => lines.push(l) });
    const starting = reg.start();
    await sleep(300);
    const m = await mesh((req, res) => (req.method === "POST" ? registered(res) : res.writeHead(200).end("{}")), port);
    await expect(starting).resolves.toMatchObject({ id: "0123456789abcdef" });
    expect(reg.id).toBe("0123456789abcdef");
    expect(posts(m.log)).toBe(1);
    expect(lines.some((l) => /not reachable.*trying again in \d+ ms/.test(l))).toBe(true);
    await reg.stop();
  });

  it("tries again after a 5xx, whatever its body (a proxy's error page)", { timeout: 10_000 }, async () => {
    let n = 0;
    const m = await mesh((req, res) => {
      if (req.method === "POST" && ++n <= 2) res.writeHead(502, { "content-type": "text/html" }).end("<html>bad gateway</html>");
      else if (req.method === "POST") registered(res);
      else res.writeHead(200).end("{}");
    });
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: FAST });
    await expect(reg.start()).resolves.toMatchObject({ id: "0123456789abcdef" });
    expect(posts(m.log)).toBe(3);
    await reg.stop();
  });

  it("waits out a 429's Retry-After before asking again", { timeout: 10_000 }, async () => {
    let n = 0;
    const m = await mesh((req, res) => {
      if (req.method === "POST" && ++n === 1) res.writeHead(429, { "retry-after": "1", "content-type": "application/json" }).end('{"error":"rate_limited"}');
      else if (req.method === "POST") registered(res);
      else res.writeHead(200).end("{}");
    });
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: FAST });
    const started = Date.now();
    await reg.start();
    // The backoff alone would have waited at most 20 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(posts(m.log)).toBe(2);
    await reg.stop();
  });

  it("fails at once on a 4xx other than 429, saying what to check", { timeout: 10_000 }, async () => {
    const m = await mesh((_req, res) => res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}'));
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_wrong", url: "http://127.0.0.1:1", retry: FAST });
    const started = Date.now();
    await expect(reg.start()).rejects.toThrow(/register http:\/\/127\.0\.0\.1:1: 401 .*not retried: check the registration token/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(posts(m.log)).toBe(1);
  });

  it("gives up at retry.deadlineMs with the last failure", { timeout: 10_000 }, async () => {
    const m = await mesh((_req, res) => res.writeHead(503).end("down"));
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: { ...FAST, deadlineMs: 300 } });
    const started = Date.now();
    await expect(reg.start()).rejects.toThrow(/gave up after \d+ attempt\(s\) .*retry\.deadlineMs 300.*503/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(posts(m.log)).toBeGreaterThan(1);
  });

  it("stops waiting at once when stop() is called between two attempts, and registers nothing", { timeout: 10_000 }, async () => {
    const m = await mesh((req, res) => {
      if (req.method === "POST") res.writeHead(503, { "retry-after": "30" }).end("{}");
      else res.writeHead(200).end("{}");
    });
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: { ...FAST, deadlineMs: 60_000 } });
    const starting = reg.start().then(
      () => null,
      (err: unknown) => err,
    );
    await sleep(200); // the first attempt was answered; start() now waits 30 s
    const stopped = Date.now();
    await reg.stop();
    expect(String(await starting)).toMatch(/stopped before the mesh accepted the registration/);
    expect(Date.now() - stopped).toBeLessThan(1_000);
    expect(m.log).toEqual(["POST /_mesh/v1/services/shop/instances"]);
    expect(reg.id).toBeNull();
  });
});

/** The IMF-fixdate (RFC 9110 §5.6.7) of `ms`, to the second. */
const httpDate = (ms: number) => new Date(ms).toUTCString();

describe("registration client: a Retry-After it cannot use", () => {
  /** A mesh that answers the first registration 503 with `retryAfter`, then accepts. */
  async function onceUnavailable(retryAfter: string) {
    let n = 0;
    return mesh((req, res) => {
      if (req.method === "POST" && ++n === 1) res.writeHead(503, { "retry-after": retryAfter, "content-type": "application/json" }).end('{"error":"registry_unavailable"}');
      else if (req.method === "POST") registered(res);
      else res.writeHead(200).end("{}");
    });
  }

  it.each([
    ["a word", "soon"],
    ["an HTTP-date with no such day or month", "Wed, 99 Foo 2026"],
    // The three below are not HTTP-dates, but Date.parse reads each as a date years ahead: start() gave up at once.
    ["a word and a year", "Soon 2099"],
    ["a date without its time", "Thu, 01 Jan 2099"],
    ["a 31 February", "Tue, 31 Feb 2099 10:00:00 GMT"],
    ["a negative number", "-5"],
    ["a fraction", "1.5"],
    ["an empty value", ""],
  ])("is ignored (%s): the client's own backoff decides, and it registers", { timeout: 10_000 }, async (_why, retryAfter) => {
    const m = await onceUnavailable(retryAfter);
    const lines: string[] = [];
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: FAST, log: (l) => lines.push(l) });
    const started = Date.now();
    await expect(reg.start()).resolves.toMatchObject({ id: "0123456789abcdef" });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(posts(m.log)).toBe(2);
    const waits = lines.flatMap((l) => /trying again in (\S+) ms/.exec(l)?.[1] ?? []);
    expect(waits).toHaveLength(1);
    expect(Number(waits[0])).toBeGreaterThanOrEqual(0);
    expect(Number(waits[0])).toBeLessThanOrEqual(FAST.maxDelayMs);
    await reg.stop();
  });

  it("honours an HTTP-date a moment ahead", { timeout: 10_000 }, async () => {
    // Whole seconds: two ahead is at least one second's wait.
    const m = await onceUnavailable(httpDate(Date.now() + 2_000));
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: FAST });
    const started = Date.now();
    await reg.start();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(posts(m.log)).toBe(2);
    await reg.stop();
  });

  it("caps a wait past what a timer can hold (30 days) at five minutes, instead of asking again at once", { timeout: 10_000 }, async () => {
    const m = await onceUnavailable(String(30 * 86_400));
    const lines: string[] = [];
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: { ...FAST, deadlineMs: 40 * 86_400_000 }, log: (l) => lines.push(l) });
    const starting = reg.start().catch((err: unknown) => err);
    await sleep(500);
    // A Node timer longer than 2^31-1 ms fires after 1 ms: the second attempt came at once.
    expect(posts(m.log)).toBe(1);
    expect(lines.some((l) => l.endsWith("trying again in 300000 ms"))).toBe(true);
    await reg.stop();
    expect(String(await starting)).toMatch(/stopped before the mesh accepted the registration/);
  });

  it("still gives up at once when the capped wait is past the deadline, naming the header it got", { timeout: 10_000 }, async () => {
    const m = await onceUnavailable("99999999999999999999");
    const reg = registration({ mesh: m.url, service: "shop", token: "sy_t", url: "http://127.0.0.1:1", retry: FAST });
    await expect(reg.start()).rejects.toThrow(/503 .*\(Retry-After: "99999999999999999999"\); it asked to wait 300000 ms/);
    expect(posts(m.log)).toBe(1);
  });
});
