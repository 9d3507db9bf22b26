import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { canonicalString, parseSignatureHeader } from "../../../src/security/signing/canonical.js";
import { hmacSha256Hex } from "../../../src/security/signing/signer.js";
import { toHex, utf8 } from "../../../src/security/encoding.js";
import { generateTestKey, mint } from "../../unit/security/jwt-keys.js";
import { createService, type Echo, originUrls, register, uniqueName } from "../helpers.js";

/**
 * The upstream security features against a hostile token endpoint and JWKS
 * server (test/support/hostile-idp.ts, real HTTP on 127.0.0.1), in workerd.
 */

const idp = `http://127.0.0.1:${env.HOSTILE_IDP_PORT}`;
const SECRETS = { HOSTILE_CLIENT_SECRET: "client-secret", HOSTILE_SIGNING_SECRET: "hostile-signing-secret" };

async function call(path: string, init: RequestInit = {}, extra: Record<string, unknown> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const req = new Request(`http://mesh.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const res = await worker.fetch(req, { ...env, ...SECRETS, ...extra }, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

async function service(config: Record<string, unknown>, instanceUrls = originUrls().slice(0, 1)): Promise<string> {
  const name = uniqueName("hostile");
  const { token } = await createService(name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
  for (const url of instanceUrls) await register(name, token, url);
  return name;
}

/** A service whose upstreamAuth tokenUrl is the hostile IdP's `path` (made unique, so its hit count is this test's). */
async function oauthService(kind: string): Promise<{ name: string; tokenPath: string }> {
  const tokenPath = `/token/${kind}/${uniqueName()}`;
  const name = await service({
    upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: `${idp}${tokenPath}`, clientId: "mesh", clientSecretRef: "HOSTILE_CLIENT_SECRET" },
  });
  return { name, tokenPath };
}

async function hits(path: string): Promise<number> {
  const res = await fetch(`${idp}/__hits${path}`);
  return (await res.json<{ hits: number }>()).hits;
}

describe("upstreamAuth against a hostile token endpoint", () => {
  it("replaces the client's Authorization with the mesh's token, one value only", async () => {
    const { name } = await oauthService("ok");
    const res = await call(`/${name}/items`, { headers: { authorization: "Bearer client-forged" } });
    expect(res.status).toBe(200);
    expect((await res.json<Echo>()).headers["authorization"]).toBe("Bearer hostile-ok");
  });

  it.each([
    ["crlf", "token endpoint returned an access_token that is too long or not printable ASCII"],
    ["huge", "token endpoint response is larger than 65536 bytes"],
    ["redirect", "token endpoint answered 302"],
  ])("answers 502 upstream_auth_failed for a %s answer, touching no origin", async (kind, message) => {
    const { name } = await oauthService(kind);
    const res = await call(`/${name}/items`);
    expect(res.status).toBe(502);
    expect(res.headers.get("x-mesh-instance")).toBeNull();
    expect(await res.json()).toEqual({ error: "upstream_auth_failed", message });
  });

  it("answers 503 upstream_auth_unavailable when the endpoint is slower than its 5 s timeout, touching no origin", { timeout: 15_000 }, async () => {
    const { name } = await oauthService("slow-8000");
    const res = await call(`/${name}/items`);
    expect(res.status).toBe(503);
    expect(res.headers.get("x-mesh-instance")).toBeNull();
    expect(await res.json()).toEqual({ error: "upstream_auth_unavailable", message: "token endpoint did not answer in time" });
  });

  it("answers 503 upstream_auth_unavailable when the endpoint stalls mid-body, within its 5 s timeout", { timeout: 15_000 }, async () => {
    const { name } = await oauthService("stall");
    const started = Date.now();
    const res = await call(`/${name}/items`);
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(7_000);
    expect(res.headers.get("x-mesh-instance")).toBeNull();
    expect(await res.json()).toEqual({ error: "upstream_auth_unavailable", message: "token endpoint did not send its whole answer in time" });
  });

  it("sends one more token request, not one per caller, when callers outwait a slow refresh", { timeout: 15_000 }, async () => {
    // 3 s: past the 2 s a caller waits for another's refresh, within the 5 s timeout.
    const { name, tokenPath } = await oauthService("slow-3000");
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(`/${name}/items`)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await hits(tokenPath)).toBeLessThanOrEqual(2);
  });
});

describe("auth.jwt against a hostile JWKS server", () => {
  const jwtService = (jwksPath: string) =>
    service({ auth: { jwt: { issuer: "https://issuer.test", audiences: ["api"], jwksUrl: `${idp}${jwksPath}/${uniqueName()}` } } });

  it.each([["/jwks/redirect"], ["/jwks/endless"]])("answers 503 jwks_unavailable for %s, at once and touching no origin", async (path) => {
    const key = await generateTestKey("ES256", "k");
    const name = await jwtService(path);
    const token = await mint(key, { iss: "https://issuer.test", aud: "api", exp: Math.floor(Date.now() / 1000) + 600 });
    const started = Date.now();
    const res = await call(`/${name}/items`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "jwks_unavailable" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("signing on failover", () => {
  it("signs a retry afresh over the path and query the second instance receives, replacing a client's signature", async () => {
    const [live] = originUrls();
    if (live === undefined) throw new Error("a loopback origin is needed");
    // Port 9 refuses connections: a try there fails over to the live instance, whose base path differs.
    const name = await service({ signing: { secretRef: "HOSTILE_SIGNING_SECRET" }, balancer: "round_robin" }, ["http://127.0.0.1:9/first", `${live}/second`]);
    const body = '{"n":1}';
    const attempts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await call(`/${name}/x?a=1&a=2&b=%2F&c=a,b`, {
        method: "PUT",
        body,
        headers: { "content-length": String(body.length), "x-mesh-signature": `t=1,v1=${"0".repeat(64)}`, "x-mesh-content-sha256": "forged" },
      });
      expect(res.status).toBe(200);
      attempts.push(res.headers.get("x-mesh-attempts") ?? "");
      const echo = await res.json<Echo>();
      expect(echo.target).toBe(`/second/${name}/x?a=1&a=2&b=%2F&c=a,b`);
      const parsed = parseSignatureHeader(echo.headers["x-mesh-signature"] ?? "");
      if (parsed === undefined) throw new Error("no signature reached the origin");
      const digest = echo.headers["x-mesh-content-sha256"] ?? "";
      expect(digest).toBe(toHex(await crypto.subtle.digest("SHA-256", utf8(body))));
      const expected = await hmacSha256Hex(
        SECRETS.HOSTILE_SIGNING_SECRET,
        canonicalString({ timestamp: parsed.timestamp, method: "PUT", pathWithQuery: echo.target, contentSha256: digest }),
      );
      expect(parsed.signatures).toEqual([expected]);
    }
    // Round robin sends one of the two to the refusing instance first.
    expect(attempts).toContain("2");
  });

  it("signs the path and query byte for byte as the origin receives them, odd characters included", async () => {
    const [live] = originUrls();
    if (live === undefined) throw new Error("a loopback origin is needed");
    const name = await service({ signing: { secretRef: "HOSTILE_SIGNING_SECRET" } }, [live]);
    for (const tail of ["/a%20b/{x}|y^z`~!$&'()*+,;=:@%2F%2e%2E/..%2f?q=a b&q=%41&r='\"<>|{}^`&&=&x=%zz#frag", "/%E2%82%AC/%e2%82%ac?%=%&a=\u00e9"]) {
      const res = await call(`/${name}${tail}`);
      expect(res.status).toBe(200);
      const echo = await res.json<Echo>();
      const parsed = parseSignatureHeader(echo.headers["x-mesh-signature"] ?? "");
      if (parsed === undefined) throw new Error("no signature reached the origin");
      const expected = await hmacSha256Hex(
        SECRETS.HOSTILE_SIGNING_SECRET,
        canonicalString({ timestamp: parsed.timestamp, method: "GET", pathWithQuery: echo.target, contentSha256: echo.headers["x-mesh-content-sha256"] ?? "" }),
      );
      expect(parsed.signatures, echo.target).toEqual([expected]);
    }
  });
});

describe("mtls with signing and failover", () => {
  it("sends every try, the retry included, through the certificate binding, each signed for its own URL", async () => {
    const [live] = originUrls();
    if (live === undefined) throw new Error("a loopback origin is needed");
    // The binding an [[mtls_certificates]] entry gives: an object with fetch. This one sends with the
    // real fetch (there is no client certificate in tests) and notes what it was asked to send.
    const sent: { url: string; signature: string | null; hasSignal: boolean }[] = [];
    const binding = {
      fetch: (input: string, init: RequestInit) => {
        sent.push({ url: input, signature: new Headers(init.headers).get("x-mesh-signature"), hasSignal: init.signal instanceof AbortSignal });
        return fetch(input, init);
      },
    };
    const name = await service(
      { mtls: { certificateBinding: "HOSTILE_CERT" }, signing: { secretRef: "HOSTILE_SIGNING_SECRET" }, balancer: "round_robin" },
      ["http://127.0.0.1:9/dead", `${live}/live`],
    );
    const attempts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await call(`/${name}/m`, {}, { HOSTILE_CERT: binding });
      expect(res.status).toBe(200);
      attempts.push(res.headers.get("x-mesh-attempts") ?? "");
    }
    expect(attempts).toContain("2");
    expect(sent).toHaveLength(3);
    expect(sent.every((s) => s.hasSignal && s.signature !== null)).toBe(true);
    expect(new Set(sent.map((s) => new URL(s.url).pathname))).toEqual(new Set([`/dead/${name}/m`, `/live/${name}/m`]));
  });
});

