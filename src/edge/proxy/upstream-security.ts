import { encodeClaims } from "../../security/jwt/challenge.js";
import { tokenSource } from "../../security/oauth/token-source.js";
import { signatureHeaders } from "../../security/signing/signer.js";
import { certificateFetch, secretFrom, type Send } from "../../security/wiring/env-refs.js";
import type { RequestState } from "../request-state.js";

/**
 * The security part of the try stage's upstream headers (docs/security.md):
 * the verified JWT claims header, the OAuth2 client-credentials token, the
 * request signature, and the mTLS certificate binding that sends the request.
 *
 * `upstreamSecurity` runs once per request, after the proxy's own header rules,
 * and reads what the config names from `env`: a missing secret or binding is
 * a 503 not_configured before any origin is tried. `secureAttempt` runs before
 * each try, after every other header change, so each try carries its own
 * signature and timestamp.
 */
export interface UpstreamSecurity {
  readonly signingSecret: string | null;
  readonly maxSignedBodyBytes: number;
  readonly oauth: { tokenUrl: string; clientId: string; clientSecret: string; scope: string | undefined } | null;
  /** The certificate binding's fetch for `mtls`, else undefined (the global fetch). */
  readonly send: Send | undefined;
}

/** Null for a service with none of the upstream features: the try stage then does nothing extra. */
export function upstreamSecurity(state: RequestState, env: Env): UpstreamSecurity | null {
  const svc = state.service;
  if (svc === null) return null;
  const claimsHeader = svc.jwt?.forwardClaimsHeader;
  // Set after upstreamHeaders: set() replaces every value a client sent under this name.
  if (claimsHeader !== undefined && state.claims !== null) state.headers.set(claimsHeader, encodeClaims(state.claims));
  const { signing, upstreamAuth, mtls } = svc;
  if (signing === undefined && upstreamAuth === undefined && mtls === undefined) return null;
  return {
    signingSecret: signing === undefined ? null : secretFrom(env, svc.name, "signing.secretRef", signing.secretRef),
    maxSignedBodyBytes: signing?.maxSignedBodyBytes ?? 0,
    oauth:
      upstreamAuth === undefined
        ? null
        : {
            tokenUrl: upstreamAuth.tokenUrl,
            clientId: upstreamAuth.clientId,
            clientSecret: secretFrom(env, svc.name, "upstreamAuth.clientSecretRef", upstreamAuth.clientSecretRef),
            scope: upstreamAuth.scope,
          },
    send: mtls === undefined ? undefined : certificateFetch(env, svc.name, mtls.certificateBinding),
  };
}

/**
 * Sets this try's Authorization (OAuth2) and signature headers on the
 * request's upstream headers. The token comes from the isolate's cache (one
 * token request per lifetime, shared by every request); a token endpoint
 * failure throws its SecurityError (502 upstream_auth_failed or 503
 * upstream_auth_unavailable) before the origin is touched.
 *
 * The signature covers the body the admit stage buffered, if it is within
 * `maxSignedBodyBytes`; a streamed body (unsized, or over the buffer cap) is
 * never held in memory to be hashed and goes as UNSIGNED-PAYLOAD, which the
 * origin's verifier refuses unless it opts in.
 */
export async function secureAttempt(security: UpstreamSecurity, state: RequestState, target: string): Promise<void> {
  if (security.oauth !== null) {
    state.headers.set("authorization", `Bearer ${await tokenSource.accessToken(security.oauth)}`);
  }
  if (security.signingSecret === null) return;
  const body = state.body;
  const signed = body === null ? null : body instanceof ArrayBuffer && body.byteLength <= security.maxSignedBodyBytes ? body : "unsigned";
  const headers = await signatureHeaders(security.signingSecret, { method: state.method, url: target, body: signed, now: Date.now() });
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) state.headers.set(name, value);
  }
}
