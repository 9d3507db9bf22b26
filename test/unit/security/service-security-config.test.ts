import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { serviceConfigSchema, type ServiceConfigInput } from "../../../src/core/schema/service.js";
import { routedService } from "../../../src/registry/route-index.js";
import { isMeshError } from "../../../src/core/errors.js";
import { SecurityError } from "../../../src/security/errors.js";
import { checkSecurityConfig } from "../../../src/security/wiring/config-check.js";

/**
 * The security fields as part of a service config: parsed with the rest of
 * it, carried to routers in the route index by name only, and checked at PUT
 * time against the Worker's bindings and the origin guard.
 */

const secured: ServiceConfigInput = {
  routes: { hosts: ["orders.example.com"] },
  signing: { secretRef: "ORDERS_SIGNING_SECRET" },
  upstreamAuth: {
    type: "oauth2_client_credentials",
    tokenUrl: "https://auth.example.com/oauth/token?tenant=7",
    clientId: "switchyard-orders",
    clientSecretRef: "ORDERS_CLIENT_SECRET",
    scope: "orders.read",
  },
  auth: {
    jwt: {
      issuer: "https://auth.example.com/",
      audiences: ["orders-api"],
      jwksUrl: "https://auth.example.com/.well-known/jwks.json",
      requiredScopes: ["orders.read"],
      forwardClaimsHeader: "x-mesh-claims",
    },
  },
  mtls: { certificateBinding: "ORDERS_CERT" },
};

function parse(input: ServiceConfigInput) {
  const result = serviceConfigSchema.safeParse(input);
  if (!result.success) throw new Error(JSON.stringify(result.error.issues));
  return result.data;
}

function issues(input: unknown): Record<string, string> {
  const result = serviceConfigSchema.safeParse(input);
  if (result.success) throw new Error("expected the parse to fail");
  return Object.fromEntries(result.error.issues.map((i) => [i.path.map(String).join("."), i.message]));
}

describe("security fields in serviceConfigSchema", () => {
  it("parses them with their defaults and leaves them absent when not given", () => {
    const config = parse(secured);
    expect(config.signing).toEqual({ secretRef: "ORDERS_SIGNING_SECRET", maxSignedBodyBytes: 1_048_576 });
    expect(config.auth?.jwt).toMatchObject({ clockSkewSeconds: 60, jwksCacheSeconds: 300, requiredScopes: ["orders.read"] });
    expect(config.mtls).toEqual({ certificateBinding: "ORDERS_CERT" });
    const plain = parse({ routes: { hosts: ["a.example.com"] } });
    expect(Object.keys(plain)).not.toContain("auth");
    expect(Object.keys(plain)).not.toContain("signing");
  });

  it("refuses inline secrets and names of the mesh's own bindings", () => {
    expect(issues({ ...secured, signing: { secretRef: "MESH_ADMIN_TOKEN" } })).toEqual({
      "signing.secretRef": "must not name one of the mesh's own bindings",
    });
    expect(issues({ ...secured, upstreamAuth: { ...(secured.upstreamAuth ?? {}), clientSecretRef: "REGISTRY" } })).toEqual({
      "upstreamAuth.clientSecretRef": "must not name one of the mesh's own bindings",
    });
    expect(issues({ ...secured, signing: { secretRef: "S", secret: "hunter2" } })).toEqual({ signing: 'Unrecognized key: "secret"' });
    expect(issues({ ...secured, mtls: { certificateBinding: "SERVICES" } })).toEqual({
      "mtls.certificateBinding": "must not name one of the mesh's own bindings",
    });
  });

  it("refuses every binding, var and secret of the Worker, the optional metrics token included", () => {
    // The generated Env lists what wrangler.toml and .dev.vars give the Worker, so a binding added later is covered too.
    const generated = readFileSync(new URL("../../../worker-configuration.d.ts", import.meta.url), "utf8");
    const envBlock = /interface Env \{([^}]*)\}/.exec(generated)?.[1] ?? "";
    const names = [...envBlock.matchAll(/^\s*([A-Z_][A-Z0-9_]*):/gm)].map((m) => m[1] ?? "");
    expect(names).toEqual(expect.arrayContaining(["MESH_ADMIN_TOKEN", "REGISTRY", "METRICS", "STRICT_LEASES"]));
    // Optional, so not in the generated Env (src/api/metrics.ts), but a secret all the same.
    for (const name of [...names, "MESH_METRICS_TOKEN"]) {
      expect(issues({ ...secured, signing: { secretRef: name } }), name).toEqual({
        "signing.secretRef": "must not name one of the mesh's own bindings",
      });
    }
  });

  it("refuses a signed-body limit above what the data plane buffers", () => {
    expect(issues({ ...secured, signing: { secretRef: "S", maxSignedBodyBytes: 1_048_577 } })).toEqual({
      "signing.maxSignedBodyBytes": "Too big: expected number to be <=1048576",
    });
  });
});

describe("routedService carries the security config to routers", () => {
  it("copies what the router needs, by name, and nothing for services without it", () => {
    const config = parse(secured);
    const routed = routedService("orders", config);
    expect(routed.jwt).toEqual(config.auth?.jwt);
    expect(routed.upstreamAuth).toEqual(config.upstreamAuth);
    expect(routed.signing).toEqual(config.signing);
    expect(routed.mtls).toEqual(config.mtls);
    expect(Object.keys(routedService("plain", parse({ routes: { hosts: ["a.example.com"] } })))).toEqual([
      "name",
      "routes",
      "balancer",
      "mode",
      "retry",
      "panic",
    ]);
  });
});

describe("checkSecurityConfig (PUT time)", () => {
  const fetcher = { fetch: async () => new Response("") };
  const fullEnv: Record<string, unknown> = { ORDERS_SIGNING_SECRET: "s1", ORDERS_CLIENT_SECRET: "s2", ORDERS_CERT: fetcher };

  it("passes a config whose secrets and binding exist and whose URLs are public", () => {
    expect(checkSecurityConfig(parse(secured), (n) => fullEnv[n], false)).toEqual({ issues: [], warnings: [] });
  });

  it("warns, naming each secret or binding the Worker lacks, and never its value", () => {
    const env: Record<string, unknown> = { ORDERS_SIGNING_SECRET: "", ORDERS_CERT: "not a binding" };
    const { issues: found, warnings } = checkSecurityConfig(parse(secured), (n) => env[n], false);
    expect(found).toEqual([]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^upstreamAuth\.clientSecretRef: the Worker has no secret named ORDERS_CLIENT_SECRET /);
    expect(warnings[1]).toMatch(/^signing\.secretRef: the Worker has no secret named ORDERS_SIGNING_SECRET /);
    expect(warnings[2]).toMatch(/^mtls\.certificateBinding: the Worker has no mtls_certificates binding named ORDERS_CERT /);
  });

  it("puts token and JWKS URLs through the origin guard unless private origins are allowed", () => {
    const local = parse({
      ...secured,
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: "http://127.0.0.1:9000/token", clientId: "c", clientSecretRef: "ORDERS_CLIENT_SECRET" },
      auth: { jwt: { issuer: "i", audiences: ["a"], jwksUrl: "http://metadata/jwks" } },
    });
    expect(checkSecurityConfig(local, (n) => fullEnv[n], false).issues).toEqual([
      { path: "auth.jwt.jwksUrl", message: "metadata is a local name" },
      { path: "upstreamAuth.tokenUrl", message: "127.0.0.1 is a loopback or private address" },
    ]);
    expect(checkSecurityConfig(local, (n) => fullEnv[n], true).issues).toEqual([]);
  });

  it("refuses plain http:// token and JWKS URLs unless private origins are allowed", () => {
    // Over http an on-path attacker reads the client secret (RFC 6749 §2.3.1 requires TLS) or swaps the
    // key set and then mints any token the edge accepts.
    const plain = parse({
      ...secured,
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: "http://auth.example.com/token", clientId: "c", clientSecretRef: "ORDERS_CLIENT_SECRET" },
      auth: { jwt: { issuer: "i", audiences: ["a"], jwksUrl: "HTTP://auth.example.com/jwks" } },
    });
    expect(checkSecurityConfig(plain, (n) => fullEnv[n], false).issues).toEqual([
      { path: "auth.jwt.jwksUrl", message: "url must use https (http is only for private origins, with ALLOW_PRIVATE_ORIGINS)" },
      { path: "upstreamAuth.tokenUrl", message: "url must use https (http is only for private origins, with ALLOW_PRIVATE_ORIGINS)" },
    ]);
    expect(checkSecurityConfig(plain, (n) => fullEnv[n], true).issues).toEqual([]);
  });

  it("refuses credentials in a token URL even where private origins are allowed", () => {
    const withUser = parse({
      ...secured,
      upstreamAuth: { type: "oauth2_client_credentials", tokenUrl: "https://id:pw@auth.example.com/token", clientId: "c", clientSecretRef: "ORDERS_CLIENT_SECRET" },
    });
    expect(checkSecurityConfig(withUser, (n) => fullEnv[n], true).issues).toEqual([
      { path: "upstreamAuth.tokenUrl", message: "url must not contain credentials" },
    ]);
  });
});

describe("SecurityError", () => {
  it("is a MeshError with the usual wire shape and its own headers", async () => {
    const err = new SecurityError(401, "invalid_token", "token has expired", { "www-authenticate": 'Bearer realm="orders"' });
    expect(isMeshError(err)).toBe(true);
    expect(err.toBody()).toEqual({ error: "invalid_token", message: "token has expired" });
    const res = err.toResponse();
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="orders"');
    expect(await res.json()).toEqual({ error: "invalid_token", message: "token has expired" });
  });
});
