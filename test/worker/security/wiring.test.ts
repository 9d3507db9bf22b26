import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { MAX_SIGNED_BODY_BYTES } from "../../../src/core/schema/auth.js";
import { RETRY_BODY_CAP_BYTES } from "../../../src/edge/admit/admit.js";
import { canonicalString, EMPTY_BODY_SHA256, parseSignatureHeader, UNSIGNED_PAYLOAD } from "../../../src/security/signing/canonical.js";
import { hmacSha256Hex } from "../../../src/security/signing/signer.js";
import { fromBase64Url, fromUtf8, toHex, utf8 } from "../../../src/security/encoding.js";
import { generateTestKey, mint, type TestKey } from "../../unit/security/jwt-keys.js";
import { ADMIN, createService, type Echo, json, originUrls, register, uniqueName } from "../helpers.js";

/**
 * The security features wired into the data plane, in workerd against the
 * real loopback origins (which echo what they received). Secrets are given to
 * the Worker per call, as `wrangler secret put` would.
 */

const SIGNING_SECRET = "wiring-signing-secret";

async function call(path: string, init: RequestInit = {}, extra: Record<string, unknown> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const bindings = { ...env, ...extra };
  const req = new Request(`http://mesh.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const res = await worker.fetch(req, bindings, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

async function service(config: Record<string, unknown>, origins = 1): Promise<string> {
  const name = uniqueName("sec");
  const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
  for (const url of originUrls().slice(0, origins)) await register(name, token, url);
  return name;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("security config through the API", () => {
  it("shows the fields in GET /services/{name}, naming secrets only, and warns about secrets the Worker lacks", async () => {
    const name = uniqueName("sec");
    const config = {
      routes: { pathPrefixes: [`/${name}`] },
      signing: { secretRef: "NO_SUCH_SIGNING_SECRET" },
      upstreamAuth: { type: "oauth2_client_credentials" as const, tokenUrl: "http://127.0.0.1:9/token", clientId: "c", clientSecretRef: "NO_SUCH_CLIENT_SECRET" },
    };
    const created = await createService(name, config);
    expect(created.body["warnings"]).toEqual([
      expect.stringMatching(/^upstreamAuth\.clientSecretRef: the Worker has no secret named NO_SUCH_CLIENT_SECRET/),
      expect.stringMatching(/^signing\.secretRef: the Worker has no secret named NO_SUCH_SIGNING_SECRET/),
    ]);
    const view = await call(`/_mesh/v1/services/${name}`, { headers: ADMIN });
    const body = await view.json<{ service: { config: Record<string, unknown> } }>();
    expect(body.service.config["signing"]).toEqual({ secretRef: "NO_SUCH_SIGNING_SECRET", maxSignedBodyBytes: 1_048_576 });
    expect(body.service.config["upstreamAuth"]).toMatchObject({ clientSecretRef: "NO_SUCH_CLIENT_SECRET" });
  });

  it("refuses a loopback tokenUrl or jwksUrl unless ALLOW_PRIVATE_ORIGINS is true", async () => {
    const name = uniqueName("sec");
    const config = {
      routes: { pathPrefixes: [`/${name}`] },
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: "http://127.0.0.1:9/token", clientId: "c", clientSecretRef: "S" },
    };
    const res = await call(`/_mesh/v1/services/${name}`, json("PUT", config), { ALLOW_PRIVATE_ORIGINS: "false" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: "origin_not_allowed",
      issues: [{ path: "upstreamAuth.tokenUrl", message: "127.0.0.1 is a loopback or private address" }],
    });
  });
});

describe("security URLs over plain http", () => {
  it("refuses a public http:// jwksUrl at PUT unless ALLOW_PRIVATE_ORIGINS is true", async () => {
    const name = uniqueName("sec");
    const config = {
      routes: { pathPrefixes: [`/${name}`] },
      auth: { jwt: { issuer: "https://issuer.test", audiences: ["a"], jwksUrl: "http://auth.example.com/.well-known/jwks.json" } },
    };
    const res = await call(`/_mesh/v1/services/${name}`, json("PUT", config), { ALLOW_PRIVATE_ORIGINS: "false" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "origin_not_allowed", issues: [{ path: "auth.jwt.jwksUrl" }] });
    expect((await call(`/_mesh/v1/services/${name}`, json("PUT", config))).status).toBe(201);
  });
});

describe("JWT at the admit stage (inline keys)", () => {
  let key: TestKey;
  let name: string;
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: "https://issuer.test",
    aud: "orders-api",
    sub: "user-7",
    scope: "orders.read",
    exp: Math.floor(Date.now() / 1000) + 600,
    ...extra,
  });

  beforeAll(async () => {
    key = await generateTestKey("ES256", "wiring-1");
    name = await service({
      auth: {
        jwt: {
          issuer: "https://issuer.test",
          audiences: ["orders-api"],
          jwks: { keys: [key.jwk] },
          requiredScopes: ["orders.read"],
          forwardClaimsHeader: "x-mesh-claims",
        },
      },
    });
  });

  it("forwards a valid token's claims in the claims header, replacing the client's, even with Connection naming it", async () => {
    const token = await mint(key, claims());
    const res = await call(`/${name}/items`, {
      headers: { authorization: `Bearer ${token}`, "x-mesh-claims": "forged", connection: "x-mesh-claims" },
    });
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    const forwarded = echo.headers["x-mesh-claims"] ?? "";
    expect(JSON.parse(fromUtf8(fromBase64Url(forwarded) ?? new Uint8Array()) ?? "null")).toMatchObject({
      sub: "user-7",
      scope: "orders.read",
    });
  });

  it("answers 401 with a bare challenge without a token, and 401 invalid_token / 403 insufficient_scope with one", async () => {
    const none = await call(`/${name}/items`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="${name}"`);
    expect(await none.json()).toEqual({ error: "unauthorized", message: "a bearer token is required" });

    const expired = await call(`/${name}/items`, { headers: { authorization: `Bearer ${await mint(key, claims({ exp: 1 }))}` } });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');

    const noScope = await call(`/${name}/items`, { headers: { authorization: `Bearer ${await mint(key, claims({ scope: "orders.write" }))}` } });
    expect(noScope.status).toBe(403);
    expect(noScope.headers.get("www-authenticate")).toContain('scope="orders.read"');
    expect(await noScope.json()).toMatchObject({ error: "insufficient_scope" });
    // None of them was tried against an origin.
    expect(noScope.headers.get("x-mesh-instance")).toBeNull();
  });

  it("does not read the body of a refused request", async () => {
    // A body that fails mid-read would be a 400 client_error if admission read it before authenticating.
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("client went away"));
      },
    });
    const res = await call(`/${name}/items`, { method: "POST", body: failing, headers: { "content-length": "10" } });
    expect(res.status).toBe(401);
  });
});

describe("JWT with a key WebCrypto cannot import", () => {
  it("answers 401 invalid_token, never a 500 mesh_error, and still accepts tokens from the other keys", async () => {
    const good = await generateTestKey("ES256", "good-1");
    // Schema-valid (base64url x and y), yet not a point on P-256: importKey throws.
    const broken = { kty: "EC", crv: "P-256", kid: "broken-1", use: "sig", x: "AAAA", y: "AAAA" };
    const name = await service({
      auth: { jwt: { issuer: "https://issuer.test", audiences: ["orders-api"], jwks: { keys: [broken, good.jwk] } } },
    });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const forged = await mint(good, { iss: "https://issuer.test", aud: "orders-api", exp }, { alg: "ES256", kid: "broken-1" });
    for (let i = 0; i < 2; i++) {
      const res = await call(`/${name}/items`, { headers: { authorization: `Bearer ${forged}` } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "invalid_token" });
    }
    const ok = await call(`/${name}/items`, { headers: { authorization: `Bearer ${await mint(good, { iss: "https://issuer.test", aud: "orders-api", exp })}` } });
    expect(ok.status).toBe(200);
  });
});

describe("signing in the try stage", () => {
  it("signs each request over the path the origin received and the buffered body, replacing a client's own headers", async () => {
    const name = await service({ signing: { secretRef: "WIRING_SIGNING_SECRET" } });
    const body = '{"item":7}';
    const res = await call(
      `/${name}/items?id=7&x=a%20b`,
      { method: "POST", body, headers: { "content-length": String(body.length), "x-mesh-signature": "t=1,v1=forged" } },
      { WIRING_SIGNING_SECRET: SIGNING_SECRET },
    );
    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    const digest = toHex(await crypto.subtle.digest("SHA-256", utf8(body)));
    expect(echo.headers["x-mesh-content-sha256"]).toBe(digest);
    const parsed = parseSignatureHeader(echo.headers["x-mesh-signature"] ?? "");
    if (parsed === undefined) throw new Error("no signature reached the origin");
    expect(Math.abs(parsed.timestamp - Date.now() / 1000)).toBeLessThan(5);
    const expected = await hmacSha256Hex(
      SIGNING_SECRET,
      canonicalString({ timestamp: parsed.timestamp, method: "POST", pathWithQuery: echo.path + echo.query, contentSha256: digest }),
    );
    expect(parsed.signatures).toEqual([expected]);
  });

  it("marks a streamed body UNSIGNED-PAYLOAD and a body-less GET with the empty digest", async () => {
    const name = await service({ signing: { secretRef: "WIRING_SIGNING_SECRET" } });
    const res = await call(`/${name}/up`, { method: "POST", body: new Blob(["streamed"]).stream() }, { WIRING_SIGNING_SECRET: SIGNING_SECRET });
    expect((await res.json<Echo>()).headers["x-mesh-content-sha256"]).toBe(UNSIGNED_PAYLOAD);
    const get = await call(`/${name}/up`, {}, { WIRING_SIGNING_SECRET: SIGNING_SECRET });
    expect((await get.json<Echo>()).headers["x-mesh-content-sha256"]).toBe(EMPTY_BODY_SHA256);
  });

  it("answers 503 not_configured, logging the missing secret's name and never trying an origin", async () => {
    const name = await service({ signing: { secretRef: "WIRING_ABSENT_SECRET" } });
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      logged.push(String(line));
    });
    const res = await call(`/${name}/items`);
    expect(res.status).toBe(503);
    expect(res.headers.get("x-mesh-instance")).toBeNull();
    const body = await res.json<{ error: string; message: string }>();
    expect(body.error).toBe("not_configured");
    expect(body.message).not.toContain("WIRING_ABSENT_SECRET");
    expect(logged.some((l) => l.includes('"config_missing_binding"') && l.includes('"name":"WIRING_ABSENT_SECRET"'))).toBe(true);
  });

  it("signs bodies up to exactly what the admit stage buffers", () => {
    expect(MAX_SIGNED_BODY_BYTES).toBe(RETRY_BODY_CAP_BYTES);
  });
});

describe("OAuth2 token endpoint failures", () => {
  it("answers 502 upstream_auth_failed when the endpoint answers without a token, 503 when it cannot be reached", async () => {
    const [originUrl] = originUrls();
    // A loopback origin's echo is JSON without access_token: a misbehaving token endpoint.
    const bad = await service({
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: `${originUrl}/token-${uniqueName()}`, clientId: "c", clientSecretRef: "WIRING_CLIENT_SECRET" },
    });
    const failed = await call(`/${bad}/items`, {}, { WIRING_CLIENT_SECRET: "s" });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ error: "upstream_auth_failed", message: "token endpoint response has no access_token" });

    const down = await service({
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: `http://127.0.0.1:9/${uniqueName()}`, clientId: "c", clientSecretRef: "WIRING_CLIENT_SECRET" },
    });
    const unreachable = await call(`/${down}/items`, {}, { WIRING_CLIENT_SECRET: "s" });
    expect(unreachable.status).toBe(503);
    expect(await unreachable.json()).toMatchObject({ error: "upstream_auth_unavailable" });
  });
});
