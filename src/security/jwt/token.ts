import { fromBase64Url, fromUtf8, parseJsonObject, utf8 } from "../encoding.js";

/**
 * Splitting and decoding a compact JWS (RFC 7515 §7.1) without trusting it:
 * pure, so every malformed shape is unit-tested. Nothing here checks a signature.
 */

/** Tokens above this are refused before any decoding (a header has to fit in a request anyway). */
export const MAX_TOKEN_BYTES = 8_192;

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** ASCII bytes of `<header>.<payload>`: what the signature covers. */
  signingInput: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

export type DecodeResult = { ok: true; jwt: DecodedJwt } | { ok: false; reason: string };

export function decodeJwt(token: string, maxBytes = MAX_TOKEN_BYTES): DecodeResult {
  if (token.length > maxBytes) return { ok: false, reason: "token is too large" };
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "token is not a compact JWS" };
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = fromBase64Url(h);
  const payloadBytes = fromBase64Url(p);
  const signature = fromBase64Url(s);
  if (headerBytes === undefined || payloadBytes === undefined || signature === undefined) {
    return { ok: false, reason: "token is not base64url" };
  }
  const headerText = fromUtf8(headerBytes);
  const payloadText = fromUtf8(payloadBytes);
  const header = headerText === undefined ? undefined : parseJsonObject(headerText);
  const payload = payloadText === undefined ? undefined : parseJsonObject(payloadText);
  if (header === undefined) return { ok: false, reason: "token header is not a JSON object" };
  if (payload === undefined) return { ok: false, reason: "token payload is not a JSON object" };
  // RFC 7515 §4.1.11: an extension we do not understand must make us refuse.
  if (header["crit"] !== undefined) return { ok: false, reason: "token has critical header parameters" };
  if (header["b64"] !== undefined) return { ok: false, reason: "token uses an unsupported payload encoding" };
  if (signature.length === 0) return { ok: false, reason: "token is unsigned" };
  return { ok: true, jwt: { header, payload, signingInput: utf8(`${h}.${p}`), signature } };
}

/** The token from `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1), or undefined. */
export function bearerToken(authorization: string | null): string | undefined {
  if (authorization === null) return undefined;
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
  return match?.[1];
}
