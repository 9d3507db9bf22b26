import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { readJson } from "../../../scripts/lib/read-json.mjs";

/** The demo's bounded read-back (scripts/lib/read-json.mjs) against a real loopback server. */
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handle: http.RequestListener): Promise<string> {
  const s = http.createServer(handle);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const addr = s.address();
  return `http://127.0.0.1:${addr !== null && typeof addr === "object" ? addr.port : 0}`;
}

describe("readJson (scripts/lib/read-json.mjs)", () => {
  it("gives up at its timeout, saying what it read, when the mesh accepts and never answers", { timeout: 5_000 }, async () => {
    const url = await serve(() => {
      // read, never answered
    });
    const started = Date.now();
    await expect(readJson(`${url}/_mesh/v1/services/shop`, { what: "instance states", timeoutMs: 200 })).rejects.toThrow(
      `instance states: the mesh did not answer GET ${url}/_mesh/v1/services/shop within 200 ms`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("bounds the body too: headers sent, body never finished", { timeout: 5_000 }, async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"instances":');
    });
    await expect(readJson(url, { what: "states", timeoutMs: 200 })).rejects.toThrow(/did not answer .* within 200 ms/);
  });

  it("returns the parsed answer, and names a non-2xx or non-JSON answer", async () => {
    const url = await serve((req, res) => {
      if (req.url === "/ok") res.writeHead(200, { "content-type": "application/json" }).end('{"instances":[]}');
      else if (req.url === "/html") res.writeHead(200).end("<html>");
      else res.writeHead(401).end('{"error":"unauthorized"}');
    });
    await expect(readJson(`${url}/ok`, { what: "states" })).resolves.toEqual({ instances: [] });
    await expect(readJson(`${url}/no`, { what: "states" })).rejects.toThrow(/states: GET .* answered HTTP 401 \{"error":"unauthorized"\}/);
    await expect(readJson(`${url}/html`, { what: "states" })).rejects.toThrow(/other than JSON: <html>/);
  });
});
