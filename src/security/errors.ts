/**
 * Typed errors of the security modules, with the same public shape as the
 * mesh's `MeshError` (`{ "error": code, "message": ... }`, no stack on the wire).
 * They are a separate class because `ErrorCode` in src/core/errors.ts is owned
 * elsewhere; wiring can add these codes to it and map one onto the other.
 */
export type SecurityErrorCode =
  /** No credentials at all (RFC 6750 §3.1: the challenge then carries no error code). */
  | "unauthorized"
  /** A bearer token that is malformed, badly signed, expired, for another issuer or audience. */
  | "invalid_token"
  /** A valid token without every scope the service requires. */
  | "insufficient_scope"
  /** The OAuth2 token endpoint answered, but not with a usable token. */
  | "upstream_auth_failed"
  /** The OAuth2 token endpoint could not be reached in time. */
  | "upstream_auth_unavailable"
  /** The JWKS needed to check a token could not be fetched (and no earlier copy is cached). */
  | "jwks_unavailable";

export class SecurityError extends Error {
  readonly status: number;
  readonly code: SecurityErrorCode;
  readonly headers: Record<string, string>;

  constructor(status: number, code: SecurityErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "SecurityError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  toBody(): { error: SecurityErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }

  toResponse(): Response {
    return new Response(JSON.stringify(this.toBody()), {
      status: this.status,
      headers: { "content-type": "application/json; charset=utf-8", ...this.headers },
    });
  }
}

export function isSecurityError(value: unknown): value is SecurityError {
  return value instanceof SecurityError;
}
