import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Response as MiniflareResponse, type Request as MiniflareRequest } from "miniflare";
import { createOrigin, type Origin } from "../../../scripts/lib/origin.mjs";
import { startWorker, type RunningWorker } from "../../../scripts/lib/mesh-runtime.mjs";
import { signatureHeaders } from "../../../src/security/signing/signer.js";
import { startTokenServer, tokenJson, type TokenServer } from "../../unit/security/token-server.js";
import { startSignedOrigin, type SignedOrigin } from "./servers.js";

/**
 * Signing, OAuth2 client credentials and mTLS through the deployable bundle
 * in workerd, against real loopback servers: an origin that verifies the
 * mesh's signature with the Node verifier, a token endpoint, and a stand-in
 * for the certificate binding (a Miniflare service binding that forwards to a
 * real origin), since a real mtls_certificates binding needs Cloudflare.
 */

const ADMIN = "e2e-security-admin";
const SIGNING_SECRET = "e2e-signing-secret";
const CLIENT_SECRET = "e2e client secret/+";

let mesh: RunningWorker;
let signed: SignedOrigin;
let tokens: TokenServer;
let plain: Origin;
let certificateCalls = 0;

async function admin<T>(method: string, path: string, body: unknown, token = ADMIN): Promise<{ status: number; body: T }> {
  const res = await fetch(`${mesh.url}/_mesh/v1/services/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function serve(name: string, config: Record<string, unknown>, originUrl: string): Promise<void> {
  const created = await admin<{ registrationToken: string }>("PUT", name, { routes: { pathPrefixes: [`/${name}`] }, ...config });
  expect(created.status).toBe(201);
  const reg = await admin("POST", `${name}/instances`, { url: originUrl }, created.body.registrationToken);
  expect(reg.status).toBe(201);
}

beforeAll(async () => {
  [signed, tokens] = await Promise.all([startSignedOrigin(SIGNING_SECRET), startTokenServer()]);
  plain = createOrigin({ name: "behind-cert" });
  await plain.start();
  tokens.script(tokenJson("mesh-token-1", 3600));
  mesh = await startWorker({
    bundleDir: inject("meshBundleDir"),
    bindings: {
      MESH_ADMIN_TOKEN: ADMIN,
      ALLOW_PRIVATE_ORIGINS: "true",
      REQUEST_LOG: "off",
      ORDERS_SIGNING_SECRET: SIGNING_SECRET,
      ORDERS_CLIENT_SECRET: CLIENT_SECRET,
    },
    miniflare: {
      serviceBindings: {
        // Counts what the Worker sends through env.ORIGIN_CERT.fetch, then delivers it to the real origin.
        ORIGIN_CERT: async (request: MiniflareRequest) => {
          certificateCalls++;
          const headers: Record<string, string> = {};
          request.headers.forEach((value, name) => {
            headers[name] = value;
          });
          const upstream = await fetch(request.url, { method: request.method, headers });
          return new MiniflareResponse(await upstream.arrayBuffer(), { status: upstream.status, headers: { "content-type": upstream.headers.get("content-type") ?? "" } });
        },
      },
    },
  });
  await serve(
    "orders",
    {
      signing: { secretRef: "ORDERS_SIGNING_SECRET" },
      upstreamAuth: {
        type: "oauth2_client_credentials",
        tokenUrl: tokens.url,
        clientId: "switchyard-orders",
        clientSecretRef: "ORDERS_CLIENT_SECRET",
        scope: "orders.read",
      },
    },
    signed.url,
  );
  await serve("vault", { mtls: { certificateBinding: "ORIGIN_CERT" } }, plain.url);
});

afterAll(async () => {
  await mesh.dispose();
  await Promise.all([signed.close(), tokens.close(), plain.stop()]);
});

describe("signed upstream requests with an OAuth2 token, end to end", () => {
  it("the origin's verifier accepts mesh traffic, which carries one token fetched once for many requests", async () => {
    const answers = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const res = await fetch(`${mesh.url}/orders/items/${i}?page=${i}&q=a%20b`);
        return { status: res.status, body: (await res.json()) as { path: string; authorization: string | null } };
      }),
    );
    const body = JSON.stringify({ item: 7, note: "signed body" });
    const post = await fetch(`${mesh.url}/orders/items`, { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(post.status).toBe(200);
    expect(((await post.json()) as { body: string }).body).toBe(body);

    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 24 }, () => 200));
    expect(answers[5]?.body.path).toBe("/orders/items/5?page=5&q=a%20b");
    expect(new Set(answers.map((a) => a.body.authorization))).toEqual(new Set(["Bearer mesh-token-1"]));
    expect(signed.verdicts).toEqual(Array.from({ length: 25 }, () => "ok"));
    // One token request for all 25, authenticated with HTTP Basic over the form-urlencoded id and secret.
    expect(tokens.seen).toHaveLength(1);
    expect(tokens.seen[0]?.authorization).toBe(`Basic ${Buffer.from("switchyard-orders:e2e+client+secret%2F%2B").toString("base64")}`);
    expect(tokens.seen[0]?.body).toBe("grant_type=client_credentials&scope=orders.read");
  });

  it("the origin refuses a direct unsigned request, a replay of a mesh-signed one, and a skewed signature", async () => {
    const direct = await fetch(`${signed.url}/orders/items/1`);
    expect(direct.status).toBe(401);

    const captured = signed.lastAccepted;
    if (captured === null) throw new Error("the origin accepted nothing yet");
    const copy = (name: string) => {
      const v = captured.headers[name];
      return typeof v === "string" ? [[name, v] as [string, string]] : [];
    };
    const replayHeaders = [...copy("x-mesh-signature"), ...copy("x-mesh-content-sha256"), ...copy("content-type"), ...copy("authorization")];
    const replay = await fetch(`${signed.url}${captured.url}`, {
      method: captured.method,
      headers: replayHeaders,
      ...(captured.body.length > 0 ? { body: new Uint8Array(captured.body) } : {}),
    });
    expect(replay.status).toBe(401);

    const skewed = await signatureHeaders(SIGNING_SECRET, { method: "GET", url: `${signed.url}/orders/items/1`, body: null, now: Date.now() - 120_000 });
    expect((await fetch(`${signed.url}/orders/items/1`, { headers: skewed })).status).toBe(401);

    expect(signed.verdicts.slice(-3)).toEqual(["missing_signature", "replayed", "timestamp_skew"]);
  });
});

describe("mTLS certificate binding, end to end", () => {
  it("sends the service's upstream requests through env[certificateBinding].fetch", async () => {
    const before = plain.served;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${mesh.url}/vault/secret/${i}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { origin: string; path: string }).path).toBe(`/vault/secret/${i}`);
    }
    expect(certificateCalls).toBe(3);
    expect(plain.served - before).toBe(3);
  });

  it("answers 503 not_configured for a service naming a binding the Worker lacks, touching no origin", async () => {
    const created = await admin<{ warnings: string[] }>("PUT", "nocert", { routes: { pathPrefixes: ["/nocert"] }, mtls: { certificateBinding: "NO_SUCH_CERT" } });
    expect(created.body.warnings).toEqual([expect.stringContaining("no mtls_certificates binding named NO_SUCH_CERT")]);
    const reg = await fetch(`${mesh.url}/_mesh/v1/services/nocert/instances`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ url: plain.url }),
    });
    expect(reg.status).toBe(201);
    const before = plain.served;
    const res = await fetch(`${mesh.url}/nocert/x`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "not_configured" });
    expect(plain.served).toBe(before);
  });
});
