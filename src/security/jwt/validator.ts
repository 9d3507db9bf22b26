import { SecurityError } from "../errors.js";
import { insufficientScope, invalidToken, missingToken, encodeClaims } from "./challenge.js";
import { checkClaims, missingScopes } from "./claims.js";
import { isSupportedAlg, verifySignature } from "./jwk.js";
import { type KeySource } from "./jwks-cache.js";
import { bearerToken, decodeJwt } from "./token.js";

/**
 * JWT validation at the edge: the one entry point the admit stage calls.
 * Order matters: the signature is checked before any claim, so nothing an
 * attacker writes into an unsigned payload changes which error they see.
 */

export interface JwtPolicy {
  issuer: string;
  audiences: readonly string[];
  requiredScopes: readonly string[];
  clockSkewSeconds: number;
  forwardClaimsHeader?: string | undefined;
}

export interface VerifyContext {
  keys: KeySource;
  /** Unix ms. */
  now: number;
  /** The realm in WWW-Authenticate, e.g. the service name. */
  realm: string;
}

/** The verified claims of `token`; throws SecurityError (401, 403, or 503 if keys cannot be had). */
export async function verifyJwt(
  token: string,
  policy: JwtPolicy,
  ctx: VerifyContext,
): Promise<Record<string, unknown>> {
  const decoded = decodeJwt(token);
  if (!decoded.ok) throw invalidToken(ctx.realm, decoded.reason);
  const { header, payload, signingInput, signature } = decoded.jwt;

  const alg = header["alg"];
  if (!isSupportedAlg(alg)) throw invalidToken(ctx.realm, "token algorithm is not accepted");
  const key = await ctx.keys.keyFor(alg, header["kid"]);
  if (key === undefined) throw invalidToken(ctx.realm, "no key matches the token's kid and algorithm");
  if (!(await verifySignature(key, signature, signingInput))) throw invalidToken(ctx.realm, "token signature is invalid");

  const claims = checkClaims(payload, policy, ctx.now / 1000);
  if (!claims.ok) throw invalidToken(ctx.realm, claims.reason);
  if (missingScopes(payload, policy.requiredScopes).length > 0) throw insufficientScope(ctx.realm, policy.requiredScopes);
  return payload;
}

export type AuthResult =
  | { ok: true; claims: Record<string, unknown>; headers: Headers }
  | { ok: false; error: SecurityError };

export type AuthCheck = { ok: true; claims: Record<string, unknown> } | { ok: false; error: SecurityError };

/**
 * Checks an Authorization header value: the verified claims, or the error to
 * answer with (401 without or with a bad token, 403 for a missing scope, 503
 * when no keys can be had). What the admit stage calls; it sets the claims
 * header itself, after the proxy's own header rules have run.
 */
export async function authenticate(authorization: string | null, policy: JwtPolicy, ctx: VerifyContext): Promise<AuthCheck> {
  const token = bearerToken(authorization);
  if (token === undefined) {
    return { ok: false, error: authorization === null ? missingToken(ctx.realm) : invalidToken(ctx.realm, "authorization is not a bearer token") };
  }
  try {
    return { ok: true, claims: await verifyJwt(token, policy, ctx) };
  } catch (err) {
    if (err instanceof SecurityError) return { ok: false, error: err };
    throw err;
  }
}

/**
 * Checks the request's bearer token. On success returns the headers to send
 * upstream, with the verified claims in the policy's claims header in place of
 * anything the client sent under that name. On failure nothing is forwarded.
 */
export async function authenticateRequest(request: Request, policy: JwtPolicy, ctx: VerifyContext): Promise<AuthResult> {
  const checked = await authenticate(request.headers.get("authorization"), policy, ctx);
  if (!checked.ok) return checked;
  const headers = new Headers(request.headers);
  // set() replaces every client-sent value of the header, so a client cannot assert claims.
  if (policy.forwardClaimsHeader !== undefined) headers.set(policy.forwardClaimsHeader, encodeClaims(checked.claims));
  return { ok: true, claims: checked.claims, headers };
}
