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

async function mesh(handle: Handler): Promise<{ url: string; log: string[] }> {
  const log: string[] = [];
  const s = http.createServer((req, res) => {
    log.push(`${req.method ?? ""} ${req.url ?? ""}`);
    handle(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
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
