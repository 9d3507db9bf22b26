import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SecurityError } from "../../../src/security/errors.js";
import type { PublicJwk } from "../../../src/security/jwt/jwk.js";
import { keySourceFor, parseJwks, RemoteJwks } from "../../../src/security/jwt/jwks-cache.js";
import { verifyJwt, type JwtPolicy } from "../../../src/security/jwt/validator.js";
import { generateTestKey, mint, type TestKey } from "./jwt-keys.js";

/** A real JWKS endpoint on 127.0.0.1 that counts its hits. */
let server: Server;
let url = "";
let hits = 0;
let served: { status: number; body: string } = { status: 200, body: "" };
let delayMs = 0;
const serve = (keys: PublicJwk[]) => {
  served = { status: 200, body: JSON.stringify({ keys }) };
};

let clock = 0;
const now = () => clock;
const NOW_S = 1_767_225_600;
const POLICY: JwtPolicy = { issuer: "https://issuer.test", audiences: ["api"], requiredScopes: [], clockSkewSeconds: 60 };
const claims = () => ({ iss: POLICY.issuer, aud: "api", exp: Math.floor(clock / 1000) + 600 });
let k1: TestKey;
let k2: TestKey;

async function outcome(source: RemoteJwks, token: string): Promise<string> {
  try {
    await verifyJwt(token, POLICY, { keys: source, now: clock, realm: "r" });
    return "accepted";
  } catch (err) {
    if (err instanceof SecurityError) return `${err.status} ${err.message}`;
    throw err;
  }
}

beforeAll(async () => {
  k1 = await generateTestKey("ES256", "k1");
  k2 = await generateTestKey("RS256", "k2");
  server = createServer((_req, res) => {
    hits++;
    const { status, body } = served;
    setTimeout(() => res.writeHead(status, { "content-type": "application/json" }).end(body), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  hits = 0;
  delayMs = 0;
  clock = NOW_S * 1000;
  serve([k1.jwk]);
});

describe("RemoteJwks", () => {
  it("fetches once and serves many verifications from the cache until the TTL", async () => {
    const source = new RemoteJwks(url, { now, ttlMs: 300_000 });
    const token = await mint(k1, claims());
    for (let i = 0; i < 10; i++) expect(await outcome(source, token)).toBe("accepted");
    await Promise.all(Array.from({ length: 10 }, () => outcome(source, token)));
    expect(hits).toBe(1);
    clock += 300_000;
    expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    expect(hits).toBe(2);
  });

  it("refetches for an unknown kid, so a rotated-in key is found", async () => {
    const source = new RemoteJwks(url, { now, minRefreshIntervalMs: 30_000 });
    expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    serve([k1.jwk, k2.jwk]);
    clock += 30_000;
    expect(await outcome(source, await mint(k2, claims()))).toBe("accepted");
    expect(hits).toBe(2);
  });

  it("rate-limits refetches, so a flood of random kids cannot hammer the JWKS server", async () => {
    const source = new RemoteJwks(url, { now, minRefreshIntervalMs: 30_000 });
    expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    for (let i = 0; i < 50; i++) {
      const token = await mint(k1, claims(), { alg: "ES256", kid: `random-${i}` });
      expect(await outcome(source, token)).toBe("401 no key matches the token's kid and algorithm");
      clock += 100;
    }
    expect(hits).toBe(1);
    clock += 30_000;
    for (let i = 0; i < 50; i++) await outcome(source, await mint(k1, claims(), { alg: "ES256", kid: `again-${i}` }));
    expect(hits).toBe(2);
  });

  it("keeps serving the last good key set while the server fails, retrying once per interval", async () => {
    const source = new RemoteJwks(url, { now, ttlMs: 60_000, minRefreshIntervalMs: 30_000 });
    expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    served = { status: 500, body: "down" };
    clock += 60_000;
    for (let i = 0; i < 5; i++) expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    expect(hits).toBe(2);
  });

  it("serves the cached keys while a refresh after the TTL is slow, instead of holding every request for it", async () => {
    const source = new RemoteJwks(url, { now, ttlMs: 60_000, minRefreshIntervalMs: 30_000, requestTimeoutMs: 3_000 });
    expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    delayMs = 1_500;
    serve([k1.jwk, k2.jwk]);
    clock += 60_000;
    const started = Date.now();
    expect(await outcome(source, await mint(k1, claims()))).toBe("accepted");
    expect(Date.now() - started).toBeLessThan(1_000);
    // The refresh went on without the request: once it lands, the new set is in use (no refetch for k2 yet).
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    expect(await outcome(source, await mint(k2, claims()))).toBe("accepted");
    expect(hits).toBe(2);
  });

  it("answers 503 when no key set could ever be fetched, or the set is invalid", async () => {
    served = { status: 200, body: "<html>" };
    expect(await outcome(new RemoteJwks(url, { now }), await mint(k1, claims()))).toBe(
      "503 the keys to check the token could not be fetched",
    );
  });

  it("gives up on a key set past 64 KiB as soon as it passes the cap, not when the fetch times out", async () => {
    // A hostile JWKS server: a valid-looking start, then padding that never ends.
    const endless = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"keys":[],"pad":"${"x".repeat(70_000)}`);
    });
    await new Promise<void>((resolve) => endless.listen(0, "127.0.0.1", resolve));
    try {
      const source = new RemoteJwks(`http://127.0.0.1:${(endless.address() as AddressInfo).port}/jwks`, { now, requestTimeoutMs: 3_000 });
      const started = Date.now();
      expect(await outcome(source, await mint(k1, claims()))).toBe("503 the keys to check the token could not be fetched");
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      endless.closeAllConnections();
      await new Promise<void>((resolve) => endless.close(() => resolve()));
    }
  });

  it("is what keySourceFor returns for a jwksUrl config; inline keys need no server", async () => {
    const fromUrl = keySourceFor({ jwksUrl: url, jwksCacheSeconds: 300 });
    expect(fromUrl).toBeInstanceOf(RemoteJwks);
    expect(keySourceFor({ jwksUrl: url, jwksCacheSeconds: 300 })).toBe(fromUrl);
    // A service naming the same URL with another lifetime (or a PUT changing it) gets that lifetime, not the first one's.
    expect(keySourceFor({ jwksUrl: url, jwksCacheSeconds: 30 })).not.toBe(fromUrl);
    const inline = keySourceFor({ jwks: { keys: [k1.jwk] }, jwksCacheSeconds: 300 });
    expect(await verifyJwt(await mint(k1, claims()), POLICY, { keys: inline, now: clock, realm: "r" })).toMatchObject({ aud: "api" });
    expect(hits).toBe(0);
  });
});

describe("parseJwks", () => {
  it("keeps keys with a kty and refuses what is not a key set", () => {
    expect(parseJwks(JSON.stringify({ keys: [{ kty: "OKP", crv: "Ed25519", x: "abc", kid: "a" }, { nokty: 1 }, "junk"] }))).toEqual([
      { kty: "OKP", crv: "Ed25519", x: "abc", kid: "a", alg: undefined, use: undefined, n: undefined, e: undefined, y: undefined },
    ]);
    expect(parseJwks("[]")).toBeUndefined();
    expect(parseJwks(JSON.stringify({ keys: Array.from({ length: 101 }, () => ({ kty: "EC" })) }))).toBeUndefined();
  });
});
