import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createOrigin, type Origin } from "../../../scripts/lib/origin.mjs";
import { startWorker, type RunningWorker } from "../../../scripts/lib/mesh-runtime.mjs";
import { b64json, generateTestKey, mint, mintHs256, spkiOf, type TestKey } from "../../unit/security/jwt-keys.js";
import { startJwksServer, type JwksServer } from "./servers.js";

/**
 * JWT validation at the edge through the deployable bundle in workerd, with
 * keys generated here and served by a real loopback JWKS endpoint. Every
 * refused token must be answered by the mesh without reaching the origin.
 */

const ADMIN = "e2e-jwt-admin";
const ISSUER = "https://issuer.e2e.test/";

let mesh: RunningWorker;
let jwks: JwksServer;
let origin: Origin;
let rsa: TestKey;
let ed: TestKey;

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: ["orders-api"], sub: "client-42", scope: "orders.read orders.write", iat: now, exp: now + 300, ...extra };
}

function call(token: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${mesh.url}/orders/items`, { headers: token === null ? headers : { ...headers, authorization: `Bearer ${token}` } });
}

beforeAll(async () => {
  [rsa, ed] = await Promise.all([generateTestKey("RS256", "rsa-1"), generateTestKey("EdDSA", "ed-1")]);
  jwks = await startJwksServer([rsa.jwk, ed.jwk]);
  origin = createOrigin({ name: "jwt-origin" });
  await origin.start();
  mesh = await startWorker({
    bundleDir: inject("meshBundleDir"),
    bindings: { MESH_ADMIN_TOKEN: ADMIN, ALLOW_PRIVATE_ORIGINS: "true", REQUEST_LOG: "off" },
  });
  const headers = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const put = await fetch(`${mesh.url}/_mesh/v1/services/orders`, {
    method: "PUT",
    headers,
    body: JSON.stringify({
      routes: { pathPrefixes: ["/orders"] },
      auth: { jwt: { issuer: ISSUER, audiences: ["orders-api"], jwksUrl: jwks.url, requiredScopes: ["orders.read"], forwardClaimsHeader: "x-mesh-claims" } },
    }),
  });
  const { registrationToken } = (await put.json()) as { registrationToken: string };
  const reg = await fetch(`${mesh.url}/_mesh/v1/services/orders/instances`, {
    method: "POST",
    headers: { ...headers, authorization: `Bearer ${registrationToken}` },
    body: JSON.stringify({ url: origin.url }),
  });
  expect(reg.status).toBe(201);
});

afterAll(async () => {
  await mesh.dispose();
  await Promise.all([jwks.close(), origin.stop()]);
});

describe("JWT at the edge, end to end", () => {
  it("passes valid RS256 and EdDSA tokens with their claims, fetching the JWKS once", async () => {
    for (const key of [rsa, ed, rsa]) {
      const res = await call(await mint(key, claims()), { "x-mesh-claims": "forged" });
      expect(res.status).toBe(200);
      const echo = (await res.json()) as { headers: Record<string, string> };
      const forwarded = JSON.parse(Buffer.from(echo.headers["x-mesh-claims"] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
      expect(forwarded).toMatchObject({ iss: ISSUER, sub: "client-42" });
    }
    expect(jwks.hits).toBe(1);
  });

  it("answers every bad token itself (401, or 403 for a missing scope) and the origin sees none of them", async () => {
    const [h, p, s = ""] = (await mint(rsa, claims())).split(".");
    const cases: [string, string | null, number, string][] = [
      ["no token", null, 401, "unauthorized"],
      ["expired", await mint(rsa, claims({ exp: Math.floor(Date.now() / 1000) - 3600 })), 401, "invalid_token"],
      ["wrong audience", await mint(rsa, claims({ aud: "billing-api" })), 401, "invalid_token"],
      ["alg none", `${b64json({ alg: "none", typ: "JWT" })}.${p}.`, 401, "invalid_token"],
      ["HS256 keyed with the RSA public key", await mintHs256(await spkiOf(rsa.publicKey), { alg: "HS256", kid: "rsa-1" }, claims()), 401, "invalid_token"],
      ["tampered payload", `${h}.${b64json(claims({ sub: "admin" }))}.${s}`, 401, "invalid_token"],
      ["wrong issuer", await mint(ed, claims({ iss: "https://evil.test/" })), 401, "invalid_token"],
      ["missing scope", await mint(ed, claims({ scope: "orders.write" })), 403, "insufficient_scope"],
    ];
    const before = origin.served;
    const seen: [string, number, string, string | null][] = [];
    for (const [label, token, ,] of cases) {
      const res = await call(token);
      const body = (await res.json()) as { error: string };
      seen.push([label, res.status, body.error, res.headers.get("www-authenticate")]);
    }
    expect(seen.map(([label, status, code]) => [label, status, code])).toEqual(cases.map(([label, , status, code]) => [label, status, code]));
    for (const [label, , code, challenge] of seen) {
      expect(challenge, label).toMatch(/^Bearer realm="orders"/);
      if (code !== "unauthorized") expect(challenge, label).toContain(`error="${code}"`);
    }
    expect(origin.served).toBe(before);
  });
});
