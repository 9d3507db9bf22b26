/**
 * Registered-claim and scope checks (RFC 7519 §4.1, RFC 8693 §4.2 `scope`, and
 * the `scp` array some issuers use). Pure: `now` is passed in, in Unix seconds.
 */

export interface ClaimPolicy {
  issuer: string;
  audiences: readonly string[];
  /** Allowed clock difference for exp and nbf, seconds. */
  clockSkewSeconds: number;
}

export type ClaimCheck = { ok: true } | { ok: false; reason: string };

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

export function checkClaims(payload: Record<string, unknown>, policy: ClaimPolicy, nowSeconds: number): ClaimCheck {
  const skew = policy.clockSkewSeconds;
  if (payload["iss"] !== policy.issuer) return { ok: false, reason: "token issuer is not accepted" };

  const aud = payload["aud"];
  const tokenAudiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!tokenAudiences.some((a) => typeof a === "string" && policy.audiences.includes(a))) {
    return { ok: false, reason: "token audience is not accepted" };
  }

  // A token without exp would be valid forever; the mesh refuses it.
  const exp = payload["exp"];
  if (!isNumericDate(exp)) return { ok: false, reason: "token has no valid exp claim" };
  if (nowSeconds >= exp + skew) return { ok: false, reason: "token has expired" };

  const nbf = payload["nbf"];
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) return { ok: false, reason: "token has an invalid nbf claim" };
    if (nowSeconds < nbf - skew) return { ok: false, reason: "token is not yet valid" };
  }
  const iat = payload["iat"];
  if (iat !== undefined && !isNumericDate(iat)) return { ok: false, reason: "token has an invalid iat claim" };
  return { ok: true };
}

/** Scopes granted by a token: `scope` (space-separated string) and `scp` (array, or string). */
export function grantedScopes(payload: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const add = (v: unknown) => {
    const items: unknown[] = typeof v === "string" ? v.split(" ") : Array.isArray(v) ? v : [];
    for (const s of items) {
      if (typeof s === "string" && s !== "") out.add(s);
    }
  };
  add(payload["scope"]);
  add(payload["scp"]);
  return out;
}

/** The required scopes the token lacks (empty when it has them all). */
export function missingScopes(payload: Record<string, unknown>, required: readonly string[]): string[] {
  const granted = grantedScopes(payload);
  return required.filter((s) => !granted.has(s));
}
