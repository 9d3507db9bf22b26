/**
 * Typed errors that know their public shape. Anything thrown that is not a
 * MeshError becomes a plain 500 with no detail on the wire (see api/on-error).
 */
export type ErrorCode =
  | "invalid_request"
  | "unsupported_media_type"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "no_route"
  | "no_healthy_instance"
  | "upstream_unavailable"
  | "origin_not_allowed"
  | "not_configured"
  | "coordinator_unavailable"
  /**
   * KV (the service registry or the instance mirror) refused or failed a write; nothing was half-written.
   * Also an admin write of a service not answered in its turn within 10 s (core/admin/admin-queue.ts): not
   * made, or (the message says so) started and still able to complete.
   */
  | "registry_unavailable"
  /** A service's member table (active + draining + expired) is full; Retry-After says when a drain ends. */
  | "too_many_members"
  | "rate_limited"
  | "payload_too_large"
  | "internal_error"
  /** A stored record in KV is not what the mesh wrote (edited by hand, or damaged): 500, naming the key and how to replace it. */
  | "record_unreadable"
  /** The client's request could not be taken in (e.g. its body failed mid-read); no origin was blamed. */
  | "client_error"
  /** A mesh bug on the data plane; the body carries a `reference` that also appears in the error log. */
  | "mesh_error"
  /** Flow control turned the request away before any origin: every instance at its concurrency cap, or the client is shed. */
  | "overloaded"
  /** The client went away before any origin was tried; the answer (499) reaches no one, but the request log and metrics say so. */
  | "client_closed"
  | SecurityErrorCode;

/** Codes of the security features (docs/security.md), raised as SecurityError in src/security/. */
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
  | "jwks_unavailable"
  /** A secret or binding a service's config names is missing from the Worker (the API uses it for the admin token too). */
  | "not_configured";

export interface FieldIssue {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  issues?: FieldIssue[];
  /** Opaque id tying this answer to its error log line (mesh_error). */
  reference?: string;
}

export class MeshError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly issues: FieldIssue[] | undefined;
  readonly headers: Record<string, string>;
  readonly reference: string | undefined;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { issues?: FieldIssue[]; headers?: Record<string, string>; reference?: string } = {},
  ) {
    super(message);
    this.name = "MeshError";
    this.status = status;
    this.code = code;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
    this.reference = options.reference;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: this.code, message: this.message };
    if (this.issues !== undefined) body.issues = this.issues;
    if (this.reference !== undefined) body.reference = this.reference;
    return body;
  }

  toResponse(): Response {
    return new Response(JSON.stringify(this.toBody()), {
      status: this.status,
      headers: { "content-type": "application/json; charset=utf-8", ...this.headers },
    });
  }
}

export function isMeshError(value: unknown): value is MeshError {
  return value instanceof MeshError;
}
