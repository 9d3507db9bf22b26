import { toBase64Url, utf8 } from "../encoding.js";
import { SecurityError } from "../errors.js";

/**
 * RFC 6750 §3 answers and the claims header. Pure: they build values, the
 * caller sends them.
 */

/** A quoted-string value: drops what could end the quotes or the header (RFC 7230 §3.2.6). */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]|["\\]/g, "")}"`;
}

export function bearerChallenge(realm: string, params: Record<string, string> = {}): string {
  const parts = [`realm=${quoted(realm)}`, ...Object.entries(params).map(([k, v]) => `${k}=${quoted(v)}`)];
  return `Bearer ${parts.join(", ")}`;
}

/** No credentials: 401 with a bare challenge (RFC 6750 §3.1 says not to add an error code). */
export function missingToken(realm: string): SecurityError {
  return new SecurityError(401, "unauthorized", "a bearer token is required", {
    "www-authenticate": bearerChallenge(realm),
  });
}

export function invalidToken(realm: string, description: string): SecurityError {
  return new SecurityError(401, "invalid_token", description, {
    "www-authenticate": bearerChallenge(realm, { error: "invalid_token", error_description: description }),
  });
}

export function insufficientScope(realm: string, required: readonly string[]): SecurityError {
  const description = "the token lacks a required scope";
  return new SecurityError(403, "insufficient_scope", description, {
    "www-authenticate": bearerChallenge(realm, {
      error: "insufficient_scope",
      error_description: description,
      scope: required.join(" "),
    }),
  });
}

/** base64url of the claims' JSON: header-safe, and the origin decodes it with one call. */
export function encodeClaims(claims: Record<string, unknown>): string {
  return toBase64Url(utf8(JSON.stringify(claims)));
}
