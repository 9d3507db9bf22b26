import type { WebCryptoKey } from "../crypto-key.js";
import { fromBase64Url } from "../encoding.js";

/**
 * Which key may verify which algorithm, and importing it with WebCrypto.
 *
 * The algorithm is decided by the key, never by the token alone: a token's
 * `alg` must be one the mesh supports AND match the key type. That refuses
 * `alg: none` and the classic confusion where an HS256 token is "signed" with
 * the RSA public key's bytes as an HMAC secret: no HMAC algorithm is ever used.
 */

export type JwtAlg = "RS256" | "ES256" | "EdDSA";
export const SUPPORTED_ALGS: readonly JwtAlg[] = ["RS256", "ES256", "EdDSA"];

/** The public members of a JWK the mesh reads (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2). */
export interface PublicJwk {
  kty: string;
  kid?: string | undefined;
  alg?: string | undefined;
  use?: string | undefined;
  n?: string | undefined;
  e?: string | undefined;
  crv?: string | undefined;
  x?: string | undefined;
  y?: string | undefined;
}

export function isSupportedAlg(alg: unknown): alg is JwtAlg {
  return typeof alg === "string" && (SUPPORTED_ALGS as readonly string[]).includes(alg);
}

/** Whether `jwk` can verify `alg`. Pure. */
export function keyMatchesAlg(jwk: PublicJwk, alg: JwtAlg): boolean {
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  // RFC 9864 names EdDSA over Ed25519 "Ed25519"; Node exports that as a JWK's alg.
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === "EdDSA" && jwk.alg === "Ed25519")) return false;
  switch (alg) {
    case "RS256":
      return jwk.kty === "RSA" && typeof jwk.n === "string" && typeof jwk.e === "string";
    case "ES256":
      return jwk.kty === "EC" && jwk.crv === "P-256" && typeof jwk.x === "string" && typeof jwk.y === "string";
    case "EdDSA":
      return jwk.kty === "OKP" && jwk.crv === "Ed25519" && typeof jwk.x === "string";
  }
}

/**
 * The key to try for a token: by `kid` when the token names one, otherwise the
 * only key of the right type (several without a kid would be a guess). Pure.
 */
export function selectKey(keys: readonly PublicJwk[], alg: JwtAlg, kid: unknown): PublicJwk | undefined {
  if (typeof kid === "string") return keys.find((k) => k.kid === kid && keyMatchesAlg(k, alg));
  const candidates = keys.filter((k) => keyMatchesAlg(k, alg));
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** Only the public members go to importKey: a private `d` pasted by mistake is never imported. */
function publicMembers(jwk: PublicJwk): { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string } {
  if (jwk.kty === "RSA") return { kty: "RSA", n: jwk.n, e: jwk.e };
  if (jwk.kty === "EC") return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
  return { kty: "OKP", crv: jwk.crv, x: jwk.x };
}

/** The algorithm argument of subtle.verify, typed to fit both the Workers and the Node lib typings. */
type VerifyParams = { name: string; hash?: string };

const VERIFY_PARAMS: Record<JwtAlg, VerifyParams> = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  // JWS ES256 signatures are raw r||s (64 bytes), the format WebCrypto ECDSA uses too.
  ES256: { name: "ECDSA", hash: "SHA-256" },
  EdDSA: { name: "Ed25519" },
};

// Older workerd only knew Ed25519 under its pre-standard name.
const NODE_ED25519 = { name: "NODE-ED25519", namedCurve: "NODE-ED25519" };

export interface VerifyingKey {
  key: WebCryptoKey;
  params: VerifyParams;
}

/**
 * RFC 7518 §3.3: RS256 keys MUST be at least 2048 bits. WebCrypto imports and
 * verifies with a 512-bit modulus, which can be factored for little money,
 * and then anyone can mint tokens the key accepts.
 */
export const MIN_RSA_MODULUS_BITS = 2048;

/** Bits in a JWK's big-endian `n` (RFC 7518 §6.3.1.1), leading zero bytes ignored; 0 if it is not base64url. */
export function modulusBits(n: string | undefined): number {
  const bytes = n === undefined ? undefined : fromBase64Url(n);
  if (bytes === undefined) return 0;
  const first = bytes.findIndex((b) => b !== 0);
  if (first < 0) return 0;
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first] ?? 0));
}

export async function importVerifyingKey(jwk: PublicJwk, alg: JwtAlg): Promise<VerifyingKey> {
  const data = publicMembers(jwk);
  switch (alg) {
    case "RS256":
      // Thrown like an import failure: the key is logged once (jwk_import_failed) and matches no token.
      if (modulusBits(jwk.n) < MIN_RSA_MODULUS_BITS) throw new Error(`RSA modulus is shorter than ${MIN_RSA_MODULUS_BITS} bits (RFC 7518 §3.3)`);
      return {
        key: await crypto.subtle.importKey("jwk", data, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]),
        params: VERIFY_PARAMS.RS256,
      };
    case "ES256":
      return {
        key: await crypto.subtle.importKey("jwk", data, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]),
        params: VERIFY_PARAMS.ES256,
      };
    case "EdDSA":
      try {
        return {
          key: await crypto.subtle.importKey("jwk", data, { name: "Ed25519" }, false, ["verify"]),
          params: VERIFY_PARAMS.EdDSA,
        };
      } catch (err) {
        if (!(err instanceof Error) || err.name !== "NotSupportedError") throw err;
        return { key: await crypto.subtle.importKey("jwk", data, NODE_ED25519, false, ["verify"]), params: NODE_ED25519 };
      }
  }
}

export async function verifySignature(key: VerifyingKey, signature: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    return await crypto.subtle.verify(key.params, key.key, signature, data);
  } catch {
    // A signature of the wrong length makes some runtimes throw rather than return false.
    return false;
  }
}
