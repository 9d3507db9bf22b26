import type { SecurityError } from "../../security/errors.js";
import { keySourceFor } from "../../security/jwt/jwks-cache.js";
import { authenticate } from "../../security/jwt/validator.js";
import type { RoutedService } from "../../registry/route-index.js";
import type { RequestState } from "../request-state.js";

/** A request the JWT policy turned away: 401/403 are the client's doing, a 503 (no keys) is not. */
export interface AuthRefusal {
  readonly outcome: "unauthorized" | "security_error";
  readonly error: SecurityError;
}

/**
 * Admission policy for services with `auth.jwt` (docs/security.md): the
 * request needs a valid bearer JWT before any origin is picked or its body is
 * read, so a refused request costs no origin anything and never reaches the
 * outcome reports. The verified claims go into the request state; the try
 * stage puts them in `forwardClaimsHeader` after the proxy's own header rules
 * (which strip client `x-mesh-*` and Connection-named headers) have run.
 * Services without `auth` pass synchronously, with no promise made.
 */
export function requireJwt(state: RequestState, request: Request): AuthRefusal | null | Promise<AuthRefusal | null> {
  const jwt = state.service?.jwt;
  if (jwt === undefined || state.service === null) return null;
  return checkJwt(state, request, state.service.name, jwt);
}

/** The JWT check itself: on success the verified claims go into the request state. Also run for a fallback hop (route/fallback.ts). */
export async function checkJwt(
  state: RequestState,
  request: Request,
  service: string,
  jwt: NonNullable<RoutedService["jwt"]>,
): Promise<AuthRefusal | null> {
  const result = await authenticate(request.headers.get("authorization"), jwt, {
    keys: keySourceFor(jwt),
    now: Date.now(),
    realm: service,
  });
  if (result.ok) {
    state.claims = result.claims;
    return null;
  }
  const refusedByClient = result.error.status === 401 || result.error.status === 403;
  return { outcome: refusedByClient ? "unauthorized" : "security_error", error: result.error };
}
