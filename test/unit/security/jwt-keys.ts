import type { WebCryptoKey } from "../../../src/security/crypto-key.js";
import { toBase64Url } from "../../../src/security/encoding.js";
import type { JwtAlg, PublicJwk } from "../../../src/security/jwt/jwk.js";

/**
 * Test keys generated with WebCrypto at run time, and a token minter. Shared by
 * the Node (unit) and workerd (worker) JWT suites, so it uses only WebCrypto.
 */

export interface TestKey {
  alg: JwtAlg;
  privateKey: WebCryptoKey;
  publicKey: WebCryptoKey;
  jwk: PublicJwk;
  signParams: { name: string; hash?: string };
}

function pairOf(value: unknown): { privateKey: WebCryptoKey; publicKey: WebCryptoKey } {
  if (typeof value !== "object" || value === null || !("privateKey" in value) || !("publicKey" in value)) {
    throw new Error("generateKey did not return a key pair");
  }
  return value as { privateKey: WebCryptoKey; publicKey: WebCryptoKey };
}

async function generatePair(alg: JwtAlg, modulusLength: number): Promise<{ pair: { privateKey: WebCryptoKey; publicKey: WebCryptoKey }; signParams: { name: string; hash?: string } }> {
  switch (alg) {
    case "RS256": {
      const params = { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
      return { pair: pairOf(await crypto.subtle.generateKey(params, true, ["sign", "verify"])), signParams: { name: "RSASSA-PKCS1-v1_5" } };
    }
    case "ES256":
      return {
        pair: pairOf(await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])),
        signParams: { name: "ECDSA", hash: "SHA-256" },
      };
    case "EdDSA":
      try {
        return { pair: pairOf(await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])), signParams: { name: "Ed25519" } };
      } catch {
        const legacy = { name: "NODE-ED25519", namedCurve: "NODE-ED25519" };
        return { pair: pairOf(await crypto.subtle.generateKey(legacy, true, ["sign", "verify"])), signParams: legacy };
      }
  }
}

/** `modulusLength` is for RS256 only: tests of keys too short to trust pass 1024. */
export async function generateTestKey(alg: JwtAlg, kid: string, modulusLength = 2048): Promise<TestKey> {
  const { pair, signParams } = await generatePair(alg, modulusLength);
  // The Workers typings give exportKey one return type for every format, hence the runtime narrowing.
  const exported: unknown = await crypto.subtle.exportKey("jwk", pair.publicKey);
  if (typeof exported !== "object" || exported === null || exported instanceof ArrayBuffer) throw new Error("no JWK exported");
  const fields = new Map(Object.entries(exported));
  const str = (k: string) => {
    const v: unknown = fields.get(k);
    return typeof v === "string" ? v : undefined;
  };
  const jwk: PublicJwk = { kty: str("kty") ?? "", kid, use: "sig", n: str("n"), e: str("e"), crv: str("crv"), x: str("x"), y: str("y") };
  return { alg, ...pair, jwk, signParams };
}

/** The SubjectPublicKeyInfo (DER) bytes of a public key. */
export async function spkiOf(publicKey: WebCryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  const exported: unknown = await crypto.subtle.exportKey("spki", publicKey);
  if (!(exported instanceof ArrayBuffer)) throw new Error("no SPKI exported");
  return new Uint8Array(exported);
}

export function b64json(value: unknown): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(value)));
}

/** Signs `<header>.<payload>` with `key`; the header is used exactly as given. */
export async function mint(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = { alg: key.alg, kid: key.jwk.kid, typ: "JWT" }): Promise<string> {
  const input = `${b64json(header)}.${b64json(payload)}`;
  const sig = await crypto.subtle.sign(key.signParams, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${toBase64Url(new Uint8Array(sig))}`;
}

/** HS256 over the token with `secret` as the HMAC key: the algorithm-confusion attack. */
export async function mintHs256(secret: Uint8Array<ArrayBuffer>, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${b64json(header)}.${b64json(payload)}`;
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${toBase64Url(new Uint8Array(sig))}`;
}
