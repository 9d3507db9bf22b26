import { describe, expect, it } from "vitest";
import { utf8 } from "../../../src/security/encoding.js";
import {
  canonicalString,
  EMPTY_BODY_SHA256,
  parseSignatureHeader,
  UNSIGNED_PAYLOAD,
} from "../../../src/security/signing/canonical.js";
import { signatureHeaders, signRequest } from "../../../src/security/signing/signer.js";
import { verifyMeshSignature, type VerifyInput } from "../../../verify/verify-mesh-signature.mjs";
import { VECTOR } from "./signing-vector.js";

const SECRET = VECTOR.secret;
const NOW = VECTOR.now;

async function signed(body: string | null, url: string = VECTOR.url, method = "POST"): Promise<VerifyInput> {
  const headers = await signatureHeaders(SECRET, {
    method,
    url,
    body: body === null ? null : new TextEncoder().encode(body),
    now: NOW,
  });
  return { secret: SECRET, method, url: new URL(url).pathname + new URL(url).search, headers, body: body ?? undefined, now: NOW };
}

describe("canonical string and header", () => {
  it("is the five documented lines", () => {
    expect(
      canonicalString({ timestamp: 1767225600, method: "post", pathWithQuery: "/v1/items?id=7&x=a%20b", contentSha256: VECTOR.contentSha256 }),
    ).toBe(VECTOR.canonical);
  });

  it("parses t and every v1, and refuses malformed headers", () => {
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    expect(parseSignatureHeader(`t=12,v1=${a}, v1=${b},v2=zz`)).toEqual({ timestamp: 12, signatures: [a, b] });
    for (const bad of [`v1=${a}`, "t=12", `t=-1,v1=${a}`, `t=1,t=2,v1=${a}`, "t=1,v1=ABC", "garbage"]) {
      expect(parseSignatureHeader(bad), bad).toBeUndefined();
    }
  });
});

describe("signer", () => {
  it("matches the pinned vector computed with node:crypto", async () => {
    const headers = await signatureHeaders(SECRET, {
      method: VECTOR.method,
      url: VECTOR.url,
      body: utf8(VECTOR.body),
      now: NOW,
    });
    expect(headers).toEqual({
      "x-mesh-signature": `t=1767225600,v1=${VECTOR.signature}`,
      "x-mesh-content-sha256": VECTOR.contentSha256,
    });
  });

  it("signs the empty-body digest for a request without a body", async () => {
    const headers = await signatureHeaders(SECRET, { method: "GET", url: "https://o.example/", body: null, now: NOW });
    expect(headers["x-mesh-content-sha256"]).toBe(EMPTY_BODY_SHA256);
  });

  it("buffers a sized body within the limit, streams others as UNSIGNED-PAYLOAD, and overwrites client headers", async () => {
    const small = await signRequest(
      new Request(VECTOR.url, { method: "POST", body: VECTOR.body, headers: { "content-length": "10", "x-mesh-signature": "forged" } }),
      SECRET,
      { now: NOW, maxSignedBodyBytes: 1024 },
    );
    expect(small.headers.get("x-mesh-signature")).toBe(`t=1767225600,v1=${VECTOR.signature}`);
    expect(await small.text()).toBe(VECTOR.body);

    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("chunked"));
        c.close();
      },
    });
    const big = await signRequest(new Request(VECTOR.url, { method: "POST", body: stream, duplex: "half" }), SECRET, {
      now: NOW,
      maxSignedBodyBytes: 1024,
    });
    expect(big.headers.get("x-mesh-content-sha256")).toBe(UNSIGNED_PAYLOAD);
    expect(await big.text()).toBe("chunked");
  });
});

describe("Node verifier", () => {
  it("accepts what the signer produced", async () => {
    expect(await verifyMeshSignature(await signed(VECTOR.body))).toEqual({ ok: true, timestamp: 1767225600, unsignedPayload: false });
    expect(await verifyMeshSignature(await signed(null, "https://o.example/health", "GET"))).toMatchObject({ ok: true });
  });

  it("refuses a missing or malformed header", async () => {
    const input = await signed(VECTOR.body);
    expect(await verifyMeshSignature({ ...input, headers: {} })).toEqual({ ok: false, reason: "missing_signature" });
    expect(await verifyMeshSignature({ ...input, headers: { ...input.headers, "x-mesh-signature": "t=1" } })).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
  });

  it("refuses the wrong secret, another path, another method", async () => {
    const input = await signed(VECTOR.body);
    expect(await verifyMeshSignature({ ...input, secret: "other" })).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyMeshSignature({ ...input, url: "/v1/items?id=8&x=a%20b" })).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyMeshSignature({ ...input, method: "PUT" })).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("accepts 60 s of skew either way and refuses 61", async () => {
    const input = await signed(VECTOR.body);
    for (const delta of [-60_000, 60_000]) expect((await verifyMeshSignature({ ...input, now: NOW + delta })).ok).toBe(true);
    for (const delta of [-61_000, 61_000]) {
      expect(await verifyMeshSignature({ ...input, now: NOW + delta })).toEqual({ ok: false, reason: "timestamp_skew" });
    }
  });

  it("refuses a body that does not match the signed digest", async () => {
    const input = await signed(VECTOR.body);
    expect(await verifyMeshSignature({ ...input, body: '{"item":8}' })).toEqual({ ok: false, reason: "body_mismatch" });
  });

  it("refuses UNSIGNED-PAYLOAD unless the origin opts in", async () => {
    const headers = await signatureHeaders(SECRET, { method: "POST", url: VECTOR.url, body: "unsigned", now: NOW });
    const input: VerifyInput = { secret: SECRET, method: "POST", url: "/v1/items?id=7&x=a%20b", headers, body: "anything", now: NOW };
    expect(await verifyMeshSignature(input)).toEqual({ ok: false, reason: "unsigned_payload" });
    expect(await verifyMeshSignature({ ...input, allowUnsignedPayload: true })).toEqual({ ok: true, timestamp: 1767225600, unsignedPayload: true });
  });

  it("accepts either secret while rotating", async () => {
    expect((await verifyMeshSignature({ ...(await signed(VECTOR.body)), secret: ["new-secret", SECRET] })).ok).toBe(true);
  });

  it("calls the replay guard for valid requests only, and refuses a replay", async () => {
    const seen = new Map<string, number>();
    const replayGuard = (key: string, expiresAtMs: number) => {
      if (seen.has(key)) return false;
      seen.set(key, expiresAtMs);
      return true;
    };
    const input = { ...(await signed(VECTOR.body)), replayGuard };
    expect((await verifyMeshSignature({ ...input, secret: "wrong" })).ok).toBe(false);
    expect(seen.size).toBe(0);
    expect((await verifyMeshSignature(input)).ok).toBe(true);
    expect([...seen.values()]).toEqual([NOW + 60_000]);
    expect(await verifyMeshSignature(input)).toEqual({ ok: false, reason: "replayed" });
  });
});

describe("Node verifier replay guard against a rewritten header", () => {
  it("refuses a replay whose x-mesh-signature gained an extra, repeated or reordered v1= (only one v1 needs to match)", async () => {
    const seen = new Set<string>();
    const replayGuard = (key: string) => {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    };
    const input = { ...(await signed(VECTOR.body)), replayGuard };
    expect((await verifyMeshSignature(input)).ok).toBe(true);
    const sent = await signatureHeaders(SECRET, { method: "POST", url: VECTOR.url, body: new TextEncoder().encode(VECTOR.body), now: NOW });
    const original = sent["x-mesh-signature"] ?? "";
    const [t = "", v1 = ""] = original.split(",");
    const junk = `v1=${"0".repeat(64)}`;
    for (const rewritten of [`${original},${junk}`, `${t},${junk},${v1}`, `${original},${v1}`, `${original},v2=x`, ` ${t} , ${v1} `]) {
      const replay = { ...input, headers: { ...sent, "x-mesh-signature": rewritten } };
      expect(await verifyMeshSignature(replay), rewritten).toEqual({ ok: false, reason: "replayed" });
    }
  });
});

describe("Node verifier behind a real origin", () => {
  it("verifies a signed request sent over HTTP, reading req.url, req.headers and the raw body", async () => {
    const { createServer } = await import("node:http");
    const results: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void verifyMeshSignature({ secret: SECRET, method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) }).then(
          (r) => {
            results.push(r.ok ? "ok" : r.reason);
            res.writeHead(r.ok ? 200 : 401).end();
          },
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("no port");
      const url = `http://127.0.0.1:${address.port}/v1/items?id=7&x=a%20b`;
      const signedReq = await signRequest(
        new Request(url, { method: "POST", body: VECTOR.body, headers: { "content-length": String(VECTOR.body.length) } }),
        SECRET,
        { now: Date.now(), maxSignedBodyBytes: 1024 },
      );
      expect((await fetch(signedReq)).status).toBe(200);
      const tampered = new Request(url, { method: "POST", body: '{"item":9}', headers: signedReq.headers });
      expect((await fetch(tampered)).status).toBe(401);
      expect((await fetch(url)).status).toBe(401);
      expect(results).toEqual(["ok", "body_mismatch", "missing_signature"]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
