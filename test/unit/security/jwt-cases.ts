import { beforeAll, describe, expect, it } from "vitest";
import { toBase64Url, utf8 } from "../../../src/security/encoding.js";
import { SecurityError } from "../../../src/security/errors.js";
import { importVerifyingKey, type JwtAlg } from "../../../src/security/jwt/jwk.js";
import { StaticJwks } from "../../../src/security/jwt/jwks-cache.js";
import { authenticateRequest, type JwtPolicy, verifyJwt } from "../../../src/security/jwt/validator.js";
import { b64json, generateTestKey, mint, mintHs256, spkiOf, type TestKey } from "./jwt-keys.js";

/**
 * The JWT validation suite, run once in Node (test/unit/security/jwt.test.ts)
 * and once in workerd (test/worker/security/jwt.test.ts): WebCrypto differs
 * between the two, and the mesh runs in the latter.
 */

const NOW = 1_767_225_600_000;
const NOW_S = NOW / 1000;
const REALM = "orders";
const POLICY: JwtPolicy = { issuer: "https://issuer.test", audiences: ["orders-api", "other-api"], requiredScopes: [], clockSkewSeconds: 60 };
const CLAIMS = { iss: "https://issuer.test", aud: "orders-api", sub: "user-1", exp: NOW_S + 600, iat: NOW_S };

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SecurityError) return `${err.status} ${err.code}: ${err.message}`;
    throw err;
  }
  return "accepted";
}

export function jwtSuite(runtime: string): void {
  const keys = new Map<JwtAlg, TestKey>();
  const key = (alg: JwtAlg) => {
    const k = keys.get(alg);
    if (k === undefined) throw new Error(`no ${alg} key`);
    return k;
  };
  let jwks: StaticJwks;
  const check = (token: string, policy: JwtPolicy = POLICY) => reason(verifyJwt(token, policy, { keys: jwks, now: NOW, realm: REALM }));

  beforeAll(async () => {
    for (const alg of ["RS256", "ES256", "EdDSA"] as const) keys.set(alg, await generateTestKey(alg, `${alg}-1`));
    jwks = new StaticJwks([...keys.values()].map((k) => k.jwk));
  });

  describe(`JWT validation in ${runtime}`, () => {
    describe.each(["RS256", "ES256", "EdDSA"] as const)("%s", (alg) => {
      it("accepts a valid token and returns its claims", async () => {
        const token = await mint(key(alg), CLAIMS);
        expect(await verifyJwt(token, POLICY, { keys: jwks, now: NOW, realm: REALM })).toEqual(CLAIMS);
      });

      it("refuses a tampered payload", async () => {
        const [h, , s] = (await mint(key(alg), CLAIMS)).split(".");
        const forged = `${h}.${b64json({ ...CLAIMS, sub: "admin" })}.${s}`;
        expect(await check(forged)).toBe("401 invalid_token: token signature is invalid");
      });

      it("refuses a tampered signature", async () => {
        const [h, p, s = ""] = (await mint(key(alg), CLAIMS)).split(".");
        const flipped = (s[0] === "A" ? "B" : "A") + s.slice(1);
        expect(await check(`${h}.${p}.${flipped}`)).toBe("401 invalid_token: token signature is invalid");
      });

      it("refuses a header alg that does not match the key's type", async () => {
        const other = alg === "RS256" ? "ES256" : "RS256";
        const token = await mint(key(alg), CLAIMS, { alg: other, kid: key(alg).jwk.kid });
        expect(await check(token)).toBe("401 invalid_token: no key matches the token's kid and algorithm");
      });
    });

    it("imports Ed25519 keys under the standard WebCrypto name", async () => {
      expect((await importVerifyingKey(key("EdDSA").jwk, "EdDSA")).params.name).toBe("Ed25519");
    });

    it("refuses alg none, signed or not", async () => {
      const unsigned = `${b64json({ alg: "none" })}.${b64json(CLAIMS)}.`;
      expect(await check(unsigned)).toBe("401 invalid_token: token is unsigned");
      expect(await check(`${unsigned}AAAA`)).toBe("401 invalid_token: token algorithm is not accepted");
    });

    it("refuses HS256 signed with the RSA public key's bytes (algorithm confusion)", async () => {
      const rsa = key("RS256");
      const spki = await spkiOf(rsa.publicKey);
      const jwkBytes = utf8(JSON.stringify(rsa.jwk));
      for (const secret of [spki, jwkBytes]) {
        const token = await mintHs256(secret, { alg: "HS256", kid: rsa.jwk.kid }, CLAIMS);
        expect(await check(token)).toBe("401 invalid_token: token algorithm is not accepted");
      }
    });

    it("refuses an expired token, allowing the configured skew", async () => {
      const rsa = key("RS256");
      expect(await check(await mint(rsa, { ...CLAIMS, exp: NOW_S - 59 }))).toBe("accepted");
      expect(await check(await mint(rsa, { ...CLAIMS, exp: NOW_S - 60 }))).toBe("401 invalid_token: token has expired");
      expect(await check(await mint(rsa, { ...CLAIMS, exp: NOW_S - 10 }), { ...POLICY, clockSkewSeconds: 0 })).toBe(
        "401 invalid_token: token has expired",
      );
      const { exp: _exp, ...noExp } = CLAIMS;
      expect(await check(await mint(rsa, noExp))).toBe("401 invalid_token: token has no valid exp claim");
    });

    it("refuses a not-yet-valid token, allowing the configured skew", async () => {
      const es = key("ES256");
      expect(await check(await mint(es, { ...CLAIMS, nbf: NOW_S + 60 }))).toBe("accepted");
      expect(await check(await mint(es, { ...CLAIMS, nbf: NOW_S + 61 }))).toBe("401 invalid_token: token is not yet valid");
    });

    it("refuses a wrong issuer or audience; accepts any configured audience in an array", async () => {
      const ed = key("EdDSA");
      expect(await check(await mint(ed, { ...CLAIMS, iss: "https://evil.test" }))).toBe("401 invalid_token: token issuer is not accepted");
      expect(await check(await mint(ed, { ...CLAIMS, aud: "billing-api" }))).toBe("401 invalid_token: token audience is not accepted");
      expect(await check(await mint(ed, { ...CLAIMS, aud: ["billing-api", "other-api"] }))).toBe("accepted");
    });

    it("refuses malformed and oversized tokens", async () => {
      const valid = await mint(key("RS256"), CLAIMS);
      const [h = "", p = "", s = ""] = valid.split(".");
      const cases: [string, string][] = [
        ["abc", "token is not a compact JWS"],
        [`${h}.${p}`, "token is not a compact JWS"],
        [`${valid}.x`, "token is not a compact JWS"],
        [`${h}.${p}+.${s}`, "token is not base64url"],
        [`${toBase64Url(new TextEncoder().encode("not json"))}.${p}.${s}`, "token header is not a JSON object"],
        [`${h}.${b64json([1, 2])}.${s}`, "token payload is not a JSON object"],
        [`${b64json({ alg: "RS256", crit: ["exp"] })}.${p}.${s}`, "token has critical header parameters"],
        [`${h}.${b64json({ ...CLAIMS, pad: "x".repeat(8_192) })}.${s}`, "token is too large"],
      ];
      for (const [token, why] of cases) expect(await check(token), why).toBe(`401 invalid_token: ${why}`);
    });

    it("refuses RS256 tokens from a key under 2048 bits (RFC 7518 §3.3), whoever published it", async () => {
      const weak = await generateTestKey("RS256", "RS256-1024", 1024);
      const token = await mint(weak, CLAIMS);
      expect(await reason(verifyJwt(token, POLICY, { keys: new StaticJwks([weak.jwk]), now: NOW, realm: REALM }))).toBe(
        "401 invalid_token: no key matches the token's kid and algorithm",
      );
      const strong = await generateTestKey("RS256", "RS256-2048", 2048);
      expect(await reason(verifyJwt(await mint(strong, CLAIMS), POLICY, { keys: new StaticJwks([weak.jwk, strong.jwk]), now: NOW, realm: REALM }))).toBe(
        "accepted",
      );
    });

    it("picks the only key of the right type when the token has no kid, and refuses a guess between several", async () => {
      const rsa = key("RS256");
      const noKid = await mint(rsa, CLAIMS, { alg: "RS256" });
      expect(await check(noKid)).toBe("accepted");
      const two = new StaticJwks([rsa.jwk, { ...(await generateTestKey("RS256", "RS256-2")).jwk }]);
      expect(await reason(verifyJwt(noKid, POLICY, { keys: two, now: NOW, realm: REALM }))).toBe(
        "401 invalid_token: no key matches the token's kid and algorithm",
      );
      expect(await check(await mint(rsa, CLAIMS, { alg: "RS256", kid: "unknown" }))).toBe(
        "401 invalid_token: no key matches the token's kid and algorithm",
      );
    });

    it("answers 403 insufficient_scope for missing scopes; reads both scope and scp", async () => {
      const rsa = key("RS256");
      const policy = { ...POLICY, requiredScopes: ["orders.read", "orders.write"] };
      expect(await check(await mint(rsa, { ...CLAIMS, scope: "orders.read orders.write profile" }), policy)).toBe("accepted");
      expect(await check(await mint(rsa, { ...CLAIMS, scp: ["orders.write", "orders.read"] }), policy)).toBe("accepted");
      try {
        await verifyJwt(await mint(rsa, { ...CLAIMS, scope: "orders.read" }), policy, { keys: jwks, now: NOW, realm: REALM });
        throw new Error("expected a refusal");
      } catch (err) {
        if (!(err instanceof SecurityError)) throw err;
        const res = err.toResponse();
        expect(res.status).toBe(403);
        expect(res.headers.get("www-authenticate")).toBe(
          'Bearer realm="orders", error="insufficient_scope", error_description="the token lacks a required scope", scope="orders.read orders.write"',
        );
        expect(await res.json()).toEqual({ error: "insufficient_scope", message: "the token lacks a required scope" });
      }
    });

    describe("authenticateRequest", () => {
      const policy = { ...POLICY, forwardClaimsHeader: "x-mesh-claims" };
      const ctx = () => ({ keys: jwks, now: NOW, realm: REALM });

      it("answers a bare 401 challenge when there is no token (RFC 6750 §3.1)", async () => {
        const result = await authenticateRequest(new Request("https://mesh.test/"), policy, ctx());
        if (result.ok) throw new Error("expected a refusal");
        const res = result.error.toResponse();
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="orders"');
        expect(await res.json()).toEqual({ error: "unauthorized", message: "a bearer token is required" });
      });

      it("answers 401 invalid_token with an RFC 6750 challenge", async () => {
        const expired = await mint(key("ES256"), { ...CLAIMS, exp: NOW_S - 3600 });
        const result = await authenticateRequest(new Request("https://mesh.test/", { headers: { authorization: `Bearer ${expired}` } }), policy, ctx());
        if (result.ok) throw new Error("expected a refusal");
        expect(result.error.status).toBe(401);
        expect(result.error.headers["www-authenticate"]).toBe(
          'Bearer realm="orders", error="invalid_token", error_description="token has expired"',
        );
        const basic = await authenticateRequest(new Request("https://mesh.test/", { headers: { authorization: "Basic dTpw" } }), policy, ctx());
        expect(basic.ok ? "accepted" : basic.error.code).toBe("invalid_token");
      });

      it("forwards the verified claims and strips a client-supplied claims header", async () => {
        const token = await mint(key("EdDSA"), CLAIMS);
        const forged = b64json({ sub: "admin" });
        const result = await authenticateRequest(
          new Request("https://mesh.test/", { headers: [["authorization", `bearer ${token}`], ["X-Mesh-Claims", forged], ["x-mesh-claims", "second"]] }),
          policy,
          ctx(),
        );
        if (!result.ok) throw new Error(result.error.message);
        const header = result.headers.get("x-mesh-claims") ?? "";
        expect(header).not.toBe(forged);
        expect(JSON.parse(atob(header.replace(/-/g, "+").replace(/_/g, "/")))).toEqual(CLAIMS);
      });
    });
  });
}
