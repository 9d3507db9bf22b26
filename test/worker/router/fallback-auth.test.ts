import { beforeAll, describe, expect, it } from "vitest";
import { generateTestKey, mint, type TestKey } from "../../unit/security/jwt-keys.js";
import { createService, type Echo, mesh, originUrls, register, uniqueName } from "../helpers.js";

/**
 * fallbackService into a service with its own `auth.jwt`
 * (src/edge/route/fallback.ts): the hop must not be a way around the
 * fallback's admission. A request without a token the fallback accepts gets
 * the first service's own answer; one with such a token is handed on, and the
 * fallback's forwardClaimsHeader carries the claims the mesh verified, never
 * the client's.
 */
describe("fallbackService into a JWT-protected service", { timeout: 30_000 }, () => {
  let key: TestKey;
  let primary: string;
  const claims = () => ({ iss: "https://issuer.test", aud: "dr-api", sub: "user-9", exp: Math.floor(Date.now() / 1000) + 600 });

  beforeAll(async () => {
    key = await generateTestKey("ES256", "fallback-1");
    const protectedDr = uniqueName("fb-jwt");
    // As sent over the API: the test key's JWK is typed loosely (kty: string), as a client's JSON would be.
    const config: Record<string, unknown> = {
      routes: { pathPrefixes: [`/${protectedDr}`] },
      auth: { jwt: { issuer: "https://issuer.test", audiences: ["dr-api"], jwks: { keys: [key.jwk] }, forwardClaimsHeader: "x-verified-claims" } },
    };
    const { token } = await createService(protectedDr, { routes: { pathPrefixes: [`/${protectedDr}`] }, ...config });
    await register(protectedDr, token, originUrls()[2] ?? "");
    // The primary has no auth and no instance, so every request would hop.
    primary = uniqueName("fb-open");
    await createService(primary, { routes: { pathPrefixes: [`/${primary}`] }, fallbackService: protectedDr });
  });

  it("a request without a token never reaches the protected fallback's origins", async () => {
    const res = await mesh(`/${primary}/admin`, { headers: { "x-verified-claims": "forged" } });
    expect(res.status).toBe(503);
    expect((await res.json<{ error: string }>()).error).toBe("no_healthy_instance");
  });

  it("a request with a token the fallback accepts is handed on, with the claims the mesh verified", async () => {
    const res = await mesh(`/${primary}/admin`, { headers: { authorization: `Bearer ${await mint(key, claims())}`, "x-verified-claims": "forged" } });
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.origin).toBe("wt-3");
    expect(echo.headers["x-verified-claims"]).not.toBe("forged");
    expect(echo.headers["x-verified-claims"]).toBeTruthy();
  });
});
