import { parseJsonObject } from "../encoding.js";

/**
 * Pure parts of the OAuth2 client-credentials grant (RFC 6749 §4.4): the token
 * request body, the response parser and the refresh schedule.
 */

/** Used when the server omits `expires_in` (RFC 6749 §5.1 only RECOMMENDS it). */
export const DEFAULT_EXPIRES_IN_SECONDS = 300;
/** Refresh this long before expiry at the latest, so a token never expires mid-request. */
export const REFRESH_MARGIN_SECONDS = 30;
/**
 * The longest a token is kept, whatever `expires_in` says: a server answering
 * 1e308 (or a year) would otherwise have its token reused for the isolate's
 * life, never refreshed even after the IdP revoked or rotated it.
 */
export const MAX_EXPIRES_IN_SECONDS = 86_400;
// Bounds what a misbehaving server can make the isolate hold.
const MAX_ACCESS_TOKEN_LENGTH = 16_384;

export interface IssuedToken {
  accessToken: string;
  /** Unix ms after which the token must not be used. */
  expiresAt: number;
  /** Unix ms from which the next call fetches a fresh token. */
  refreshAt: number;
}

export function tokenRequestBody(scope: string | undefined): string {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (scope !== undefined && scope !== "") form.set("scope", scope);
  return form.toString();
}

/**
 * HTTP Basic client authentication (RFC 6749 §2.3.1): id and secret are each
 * form-urlencoded before joining, which servers that follow the RFC undo.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  const pair = new TextEncoder().encode(`${enc(clientId)}:${enc(clientSecret)}`);
  let binary = "";
  for (const b of pair) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/**
 * Refresh at 80% of the lifetime or 30 s before expiry, whichever is earlier;
 * but never before half the lifetime, so a very short-lived token is still
 * reused rather than fetched on every call.
 */
export function refreshDelaySeconds(expiresIn: number): number {
  return Math.max(Math.min(expiresIn * 0.8, expiresIn - REFRESH_MARGIN_SECONDS), expiresIn * 0.5);
}

export type ParsedTokenResponse = { ok: true; token: IssuedToken } | { ok: false; message: string };

/** Parses a 2xx token response body received at `now` (Unix ms). */
export function parseTokenResponse(text: string, now: number): ParsedTokenResponse {
  const body = parseJsonObject(text);
  if (body === undefined) return { ok: false, message: "token endpoint returned a body that is not a JSON object" };
  const accessToken = body["access_token"];
  if (typeof accessToken !== "string" || accessToken === "") {
    return { ok: false, message: "token endpoint response has no access_token" };
  }
  // The token goes into an Authorization header: refuse anything that could split it.
  if (accessToken.length > MAX_ACCESS_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(accessToken)) {
    return { ok: false, message: "token endpoint returned an access_token that is too long or not printable ASCII" };
  }
  const tokenType = body["token_type"];
  if (tokenType !== undefined && (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer")) {
    return { ok: false, message: "token endpoint returned a token_type other than Bearer" };
  }
  const rawExpiresIn = body["expires_in"] ?? DEFAULT_EXPIRES_IN_SECONDS;
  // Some servers send expires_in as a numeric string.
  const expiresIn = typeof rawExpiresIn === "string" ? Number(rawExpiresIn) : rawExpiresIn;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    return { ok: false, message: "token endpoint returned an invalid expires_in" };
  }
  const lifetime = Math.min(expiresIn, MAX_EXPIRES_IN_SECONDS);
  return {
    ok: true,
    token: {
      accessToken,
      expiresAt: now + lifetime * 1000,
      refreshAt: now + refreshDelaySeconds(lifetime) * 1000,
    },
  };
}
