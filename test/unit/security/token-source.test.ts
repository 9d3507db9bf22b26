import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SecurityError } from "../../../src/security/errors.js";
import { refreshDelaySeconds } from "../../../src/security/oauth/token-response.js";
import { type ClientCredentials, TokenSource } from "../../../src/security/oauth/token-source.js";
import { startTokenServer, tokenJson, type TokenServer } from "./token-server.js";

let server: TokenServer;
let clock = 0;
const now = () => clock;
let creds: ClientCredentials;

beforeAll(async () => {
  server = await startTokenServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.seen.length = 0;
  server.script(tokenJson("t0", 3600));
  clock = 1_000_000;
  creds = { tokenUrl: server.url, clientId: "mesh client", clientSecret: "s3cr:et", scope: "orders.read orders.write" };
});

async function failure(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SecurityError) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected a SecurityError");
}

describe("TokenSource", () => {
  it("sends an RFC 6749 §4.4 request: form body, HTTP Basic client auth, scope", async () => {
    expect(await new TokenSource({ now }).accessToken(creds)).toBe("t0");
    const [req] = server.seen;
    expect(req?.method).toBe("POST");
    expect(req?.contentType).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(req?.body))).toEqual({ grant_type: "client_credentials", scope: "orders.read orders.write" });
    // RFC 6749 §2.3.1: each part form-urlencoded, then joined and base64-encoded.
    expect(req?.authorization).toBe(`Basic ${Buffer.from("mesh+client:s3cr%3Aet").toString("base64")}`);
  });

  it("makes one token request for many calls, sequential or concurrent", async () => {
    const source = new TokenSource({ now });
    for (let i = 0; i < 5; i++) expect(await source.accessToken(creds)).toBe("t0");
    const other = new TokenSource({ now });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => other.accessToken(creds)));
    expect(new Set(tokens)).toEqual(new Set(["t0"]));
    expect(server.seen).toHaveLength(2);
    // clear() (e.g. after an origin refused the token) makes the next call fetch again.
    other.clear();
    await other.accessToken(creds);
    expect(server.seen).toHaveLength(3);
  });

  it("caches per (tokenUrl, clientId, client secret, scope)", async () => {
    const source = new TokenSource({ now });
    await source.accessToken(creds);
    await source.accessToken({ ...creds, scope: "orders.read" });
    await source.accessToken({ ...creds, clientId: "another" });
    await source.accessToken(creds);
    expect(server.seen).toHaveLength(3);
  });

  it("does not hand one secret's token to a caller with another secret for the same client", async () => {
    const source = new TokenSource({ now });
    server.script(tokenJson("for-right", 3600), tokenJson("for-wrong", 3600));
    expect(await source.accessToken(creds)).toBe("for-right");
    // Same tokenUrl, clientId and scope: before, this got the cached token without its secret ever being sent.
    expect(await source.accessToken({ ...creds, clientSecret: "wrong" })).toBe("for-wrong");
    expect(server.seen.map((r) => r.authorization)).toEqual([
      `Basic ${Buffer.from("mesh+client:s3cr%3Aet").toString("base64")}`,
      `Basic ${Buffer.from("mesh+client:wrong").toString("base64")}`,
    ]);
  });

  it("refreshes at 80% of expires_in or 30 s before expiry, whichever is earlier", async () => {
    expect(refreshDelaySeconds(3600)).toBe(2880);
    expect(refreshDelaySeconds(100)).toBe(70);
    expect(refreshDelaySeconds(20)).toBe(10);
    server.script(tokenJson("first", 100), tokenJson("second", 100));
    const source = new TokenSource({ now });
    expect(await source.accessToken(creds)).toBe("first");
    clock += 69_999;
    expect(await source.accessToken(creds)).toBe("first");
    clock += 1;
    expect(await source.accessToken(creds)).toBe("second");
    expect(server.seen).toHaveLength(2);
  });

  it("keeps using a still-valid token when its refresh fails", async () => {
    server.script(tokenJson("first", 100), { status: 500, body: "{}" });
    const source = new TokenSource({ now });
    await source.accessToken(creds);
    clock += 80_000;
    expect(await source.accessToken(creds)).toBe("first");
    // ...and does not retry the failing endpoint on every call meanwhile.
    clock += 500;
    expect(await source.accessToken(creds)).toBe("first");
    expect(server.seen).toHaveLength(2);
  });

  it("stops using the old token at its expiry when the refresh keeps failing (401)", async () => {
    server.script(tokenJson("first", 100), { status: 401, body: '{"error":"invalid_client"}' });
    const source = new TokenSource({ now });
    await source.accessToken(creds);
    clock += 99_999;
    expect(await source.accessToken(creds)).toBe("first");
    clock += 1;
    expect(await failure(source.accessToken(creds))).toEqual({ status: 502, code: "upstream_auth_failed", message: "token endpoint answered 401" });
  });

  it.each([
    [{ status: 401, body: '{"error":"invalid_client"}' }, "token endpoint answered 401"],
    [{ status: 503, body: "down" }, "token endpoint answered 503"],
    [{ status: 200, body: "{not json" }, "token endpoint returned a body that is not a JSON object"],
    [{ status: 200, body: '{"token_type":"Bearer","expires_in":60}' }, "token endpoint response has no access_token"],
    [{ status: 200, body: '{"access_token":"x","token_type":"mac"}' }, "token endpoint returned a token_type other than Bearer"],
    [{ status: 200, body: '{"access_token":"x","expires_in":-5}' }, "token endpoint returned an invalid expires_in"],
  ])("answers a typed 502 for %j", async (answer, message) => {
    server.script(answer);
    expect(await failure(new TokenSource({ now }).accessToken(creds))).toEqual({ status: 502, code: "upstream_auth_failed", message });
  });

  it("answers a typed 503 when the endpoint cannot be reached", async () => {
    const closed = await startTokenServer();
    await closed.close();
    expect(await failure(new TokenSource({ now }).accessToken({ ...creds, tokenUrl: closed.url }))).toEqual({
      status: 503,
      code: "upstream_auth_unavailable",
      message: "token endpoint could not be reached",
    });
  });

  it("holds a failure for a second instead of hitting a broken endpoint per call", async () => {
    server.script({ status: 500, body: "" }, tokenJson("recovered", 60));
    const source = new TokenSource({ now, failureHoldMs: 1_000 });
    expect((await failure(source.accessToken(creds))).status).toBe(502);
    clock += 999;
    expect((await failure(source.accessToken(creds))).status).toBe(502);
    expect(server.seen).toHaveLength(1);
    clock += 1;
    expect(await source.accessToken(creds)).toBe("recovered");
  });

  it("refuses a token response over 64 KiB without holding it whole, whatever it carries", async () => {
    // A hostile or broken endpoint answering 10 MB must not make every isolate buffer 10 MB per refresh.
    server.script({ status: 200, body: JSON.stringify({ access_token: "padded", token_type: "Bearer", pad: "x".repeat(10 * 1024 * 1024) }) });
    expect(await failure(new TokenSource({ now }).accessToken(creds))).toEqual({
      status: 502,
      code: "upstream_auth_failed",
      message: "token endpoint response is larger than 65536 bytes",
    });
  });

  it("refreshes a token with an absurd expires_in at least daily, never keeping it for the isolate's life", async () => {
    server.script({ status: 200, body: '{"access_token":"forever","expires_in":1e308}' }, tokenJson("next", 3600));
    const source = new TokenSource({ now });
    expect(await source.accessToken(creds)).toBe("forever");
    clock += 24 * 3600 * 1000;
    expect(await source.accessToken(creds)).toBe("next");
    expect(server.seen).toHaveLength(2);
  });

  it("does not let every caller waiting on a slow refresh start its own: one more request, not one per caller", async () => {
    server.script("hang", tokenJson("own", 60));
    const source = new TokenSource({ now, peerWaitMs: 50, requestTimeoutMs: 10_000 });
    const stuck = source.accessToken(creds);
    await server.received(1);
    const waiters = await Promise.all(Array.from({ length: 10 }, () => source.accessToken(creds)));
    expect(new Set(waiters)).toEqual(new Set(["own"]));
    expect(server.seen).toHaveLength(2);
    server.release(tokenJson("late", 60));
    expect(await stuck).toBe("late");
  });

  it("takes the token a newer refresh brought in while it waited, even when that refresh has already settled", async () => {
    server.script("hang", tokenJson("own", 60));
    const source = new TokenSource({ now, peerWaitMs: 50, requestTimeoutMs: 10_000 });
    const stuck = source.accessToken(creds);
    await server.received(1);
    // The first waiter gives up on the stuck refresh at 50 ms and fetches "own"; the second, 30 ms later,
    // finds that refresh over (a loaded isolate's timers run late the same way) and must not fetch again.
    const first = source.accessToken(creds);
    await new Promise((r) => setTimeout(r, 30));
    const second = source.accessToken(creds);
    expect(await first).toBe("own");
    expect(await second).toBe("own");
    expect(server.seen).toHaveLength(2);
    server.release(tokenJson("late", 60));
    expect(await stuck).toBe("late");
  });

  it("does not hang on a peer's refresh that never settles: it waits a bounded time, then fetches itself", async () => {
    server.script("hang", tokenJson("own", 60));
    const source = new TokenSource({ now, peerWaitMs: 50, requestTimeoutMs: 10_000 });
    const stuck = source.accessToken(creds);
    // Let the first request reach the server before the second caller arrives.
    await server.received(1);
    const started = Date.now();
    expect(await source.accessToken(creds)).toBe("own");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.seen).toHaveLength(2);
    server.release(tokenJson("late", 60));
    expect(await stuck).toBe("late");
  });
});
