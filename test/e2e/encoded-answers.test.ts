import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorker, type RunningWorker } from "../../scripts/lib/mesh-runtime.mjs";
import { restartableServer } from "../../scripts/lib/origin.mjs";
import { meshCall } from "./harness.js";

/**
 * Compressed answers through the bundled mesh over real sockets: fetch in
 * workerd decodes an origin's gzip, and the runtime encodes the relayed answer
 * again, so what a client decodes must be the origin's body, whether the
 * origin sized it, sent it chunked, or cut it.
 */

const ADMIN = "e2e-encoded-admin";
const BODY = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}` })) });
const GZ = gzipSync(BODY);

/** The gzip origin's answers: `kind` is the last path segment. */
function answerGzip(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const path = new URL(req.url ?? "/", "http://origin").pathname;
  if (path === "/healthz") {
    res.writeHead(200).end("ok");
    return;
  }
  const kind = path.slice(path.lastIndexOf("/") + 1);
  const headers = { "content-type": "application/json", "content-encoding": "gzip" };
  switch (kind) {
    case "sized":
      res.writeHead(200, { ...headers, "content-length": String(GZ.length) });
      res.end(GZ);
      return;
    case "chunked":
      res.writeHead(200, headers);
      res.write(GZ.subarray(0, 100));
      setTimeout(() => res.end(GZ.subarray(100)), 10);
      return;
    case "sized-cut":
    case "cut":
      res.writeHead(200, kind === "cut" ? headers : { ...headers, "content-length": String(GZ.length) });
      res.write(GZ.subarray(0, 100));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    default:
      res.writeHead(404).end();
  }
}

describe("end to end: gzip answers", () => {
  let mesh: RunningWorker;
  const origin = restartableServer(answerGzip, { keepAliveTimeoutMs: 5_000 });
  let originUrl = "";

  beforeAll(async () => {
    originUrl = `http://127.0.0.1:${await origin.start()}`;
    mesh = await startWorker({
      bundleDir: inject("meshBundleDir"),
      bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
    });
    const created = await meshCall<{ registrationToken: string }>(mesh.url, "PUT", "/_mesh/v1/services/gz", { routes: { pathPrefixes: ["/gz"] }, retry: { readAheadMs: 2_000 } }, ADMIN);
    expect(created.status).toBe(201);
    const reg = await meshCall(mesh.url, "POST", "/_mesh/v1/services/gz/instances", { url: originUrl }, created.body.registrationToken);
    expect(reg.status).toBe(201);
  });

  afterAll(async () => {
    await mesh.dispose();
    await origin.stop();
  });

  for (const kind of ["sized", "chunked"]) {
    it(`relays a ${kind} gzip answer that a client decodes to the origin's body`, async () => {
      // Node's fetch asks for gzip and decodes it, as a browser does.
      const res = await fetch(`${mesh.url}/gz/${kind}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBe("gzip");
      expect(await res.text()).toBe(BODY);
    });
  }

  for (const kind of ["cut", "sized-cut"]) {
    it(`answers a ${kind === "cut" ? "chunked" : "sized"} gzip body cut within the read-ahead with a 502, not a clean end`, async () => {
      const res = await fetch(`${mesh.url}/gz/${kind}`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: string }).error).toBe("upstream_unavailable");
    });
  }
});
