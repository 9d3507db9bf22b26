import { describe, expect, it } from "vitest";
import { authSchema, mtlsSchema, signingSchema, upstreamAuthSchema } from "../../../src/core/schema/auth.js";

function issuesOf(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, input: unknown): Record<string, string> {
  const result = schema.safeParse(input);
  if (result.success || result.error === undefined) throw new Error("expected the parse to fail");
  return Object.fromEntries(result.error.issues.map((i) => [i.path.map(String).join("."), i.message]));
}

const rsaJwk = { kty: "RSA", kid: "k1", n: "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", e: "AQAB" };

describe("authSchema", () => {
  const jwt = { issuer: "https://issuer.example", audiences: ["api"], jwksUrl: "https://issuer.example/jwks.json" };

  it("applies the defaults: no required scopes, 60 s skew, 300 s JWKS cache", () => {
    expect(authSchema.parse({ jwt })).toEqual({
      jwt: { ...jwt, requiredScopes: [], clockSkewSeconds: 60, jwksCacheSeconds: 300 },
    });
  });

  it("requires exactly one of jwksUrl and jwks", () => {
    const { jwksUrl: _url, ...noKeys } = jwt;
    expect(issuesOf(authSchema, { jwt: noKeys })).toEqual({ "jwt.jwksUrl": "exactly one of jwksUrl or jwks is required" });
    expect(Object.keys(issuesOf(authSchema, { jwt: { ...jwt, jwks: { keys: [rsaJwk] } } }))).toEqual(["jwt.jwksUrl"]);
  });

  it("accepts an inline public JWKS and strips members the mesh ignores", () => {
    const parsed = authSchema.parse({ jwt: { ...noUrl(jwt), jwks: { keys: [{ ...rsaJwk, x5c: ["MIIB"], key_ops: ["verify"] }] } } });
    expect(parsed.jwt.jwks?.keys).toEqual([rsaJwk]);
  });

  it("refuses a private key in an inline JWKS (configs are stored in KV)", () => {
    expect(issuesOf(authSchema, { jwt: { ...noUrl(jwt), jwks: { keys: [{ ...rsaJwk, d: "c2VjcmV0" }] } } })).toEqual({
      "jwt.jwks.keys.0.d": "a JWKS in config must hold public keys only",
    });
  });

  it("bounds the clock skew at 300 s and names each bad field", () => {
    const issues = issuesOf(authSchema, {
      jwt: { ...jwt, clockSkewSeconds: 301, audiences: [], requiredScopes: ["read write"], forwardClaimsHeader: "Authorization", extra: 1 },
    });
    expect(Object.keys(issues).sort()).toEqual(["jwt", "jwt.audiences", "jwt.clockSkewSeconds", "jwt.forwardClaimsHeader", "jwt.requiredScopes.0"]);
    expect(issues["jwt.forwardClaimsHeader"]).toBe("must not be a header HTTP or the mesh already uses");
  });

  it("refuses a JWKS URL that is not http(s)", () => {
    expect(issuesOf(authSchema, { jwt: { ...jwt, jwksUrl: "file:///etc/passwd" } })).toEqual({ "jwt.jwksUrl": "must be an http(s) URL" });
  });
});

describe("upstreamAuthSchema", () => {
  const oauth = {
    type: "oauth2_client_credentials",
    tokenUrl: "https://auth.example/oauth/token",
    clientId: "mesh-client",
    clientSecretRef: "ORDERS_CLIENT_SECRET",
    scope: "orders.read orders.write",
  };

  it("accepts the client-credentials shape as given", () => {
    expect(upstreamAuthSchema.parse(oauth)).toEqual(oauth);
  });

  it("refuses the secret itself: only a reference to a Worker secret is stored", () => {
    expect(Object.values(issuesOf(upstreamAuthSchema, { ...oauth, clientSecret: "hunter2" }))).toEqual(['Unrecognized key: "clientSecret"']);
  });

  it("validates clientSecretRef as a secret name and scope as scope tokens", () => {
    expect(issuesOf(upstreamAuthSchema, { ...oauth, clientSecretRef: "my secret!", scope: "a  b" })).toEqual({
      clientSecretRef: "must be the name of a Worker secret (letters, digits and '_', not starting with a digit)",
      scope: "must be scope tokens separated by single spaces",
    });
  });

  it("refuses an unknown type", () => {
    expect(Object.keys(issuesOf(upstreamAuthSchema, { ...oauth, type: "basic" }))).toEqual(["type"]);
  });
});

describe("signingSchema", () => {
  it("defaults to signing buffered bodies up to 1 MiB", () => {
    expect(signingSchema.parse({ secretRef: "SVC_SIGNING_SECRET" })).toEqual({
      secretRef: "SVC_SIGNING_SECRET",
      maxSignedBodyBytes: 1_048_576,
    });
  });

  it("refuses an inline secret, a bad name and an unbounded buffer", () => {
    expect(issuesOf(signingSchema, { secretRef: "9lives", maxSignedBodyBytes: 20 * 1024 * 1024, secret: "x" })).toEqual({
      "": 'Unrecognized key: "secret"',
      secretRef: "must be the name of a Worker secret (letters, digits and '_', not starting with a digit)",
      maxSignedBodyBytes: "Too big: expected number to be <=1048576",
    });
  });
});

function noUrl<T extends { jwksUrl: string }>(value: T): Omit<T, "jwksUrl"> {
  const { jwksUrl: _drop, ...rest } = value;
  return rest;
}

describe("mtlsSchema", () => {
  it("names a certificate binding, never the certificate", () => {
    expect(mtlsSchema.parse({ certificateBinding: "ORDERS_CERT" })).toEqual({ certificateBinding: "ORDERS_CERT" });
    expect(Object.keys(issuesOf(mtlsSchema, { certificateBinding: "orders cert", key: "-----BEGIN" })).sort()).toEqual(["", "certificateBinding"]);
  });
});
