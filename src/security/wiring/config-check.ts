import type { FieldIssue } from "../../core/errors.js";
import { checkOrigin } from "../../core/net/origin-guard.js";
import type { ServiceConfig } from "../../core/schema/service.js";

/**
 * What `PUT /services/{name}` checks about a config's security fields beyond
 * its schema, with the Worker's bindings at hand. Pure: the caller passes a
 * lookup over `env`, so this runs in Node tests too.
 *
 * - `tokenUrl` and `jwksUrl` are fetched by the mesh itself, so they pass the
 *   same SSRF guard as instance URLs, and must use https (ALLOW_PRIVATE_ORIGINS
 *   opts out of both): an error, the config is refused.
 * - A named secret or certificate binding the Worker lacks is a warning, not
 *   an error: secrets are often put after the config (`wrangler secret put`
 *   and a config PUT are separate steps), and until then the service answers
 *   503 not_configured instead of sending unsigned or unauthenticated traffic.
 */
export interface SecurityConfigCheck {
  issues: FieldIssue[];
  warnings: string[];
}

/** The guard judges the URL's scheme and host; unlike an instance URL, a token or JWKS URL may carry a path and query. */
function guardUrl(path: string, raw: string, allowPrivate: boolean, issues: FieldIssue[]): void {
  const url = new URL(raw);
  if (url.username !== "" || url.password !== "") {
    issues.push({ path, message: "url must not contain credentials" });
    return;
  }
  const check = checkOrigin(`${url.protocol}//${url.host}`, allowPrivate);
  if (!check.ok) issues.push({ path, message: check.reason });
  // The guard leaves http:// only for public hosts here, where it is worst: the client secret would cross
  // the Internet in clear (RFC 6749 §2.3.1 requires TLS), and whoever is on the path could swap the key set.
  else if (url.protocol === "http:" && !allowPrivate) issues.push({ path, message: "url must use https (http is only for private origins, with ALLOW_PRIVATE_ORIGINS)" });
}

export function checkSecurityConfig(
  config: ServiceConfig,
  lookup: (name: string) => unknown,
  allowPrivate: boolean,
): SecurityConfigCheck {
  const issues: FieldIssue[] = [];
  const warnings: string[] = [];
  const jwksUrl = config.auth?.jwt.jwksUrl;
  if (jwksUrl !== undefined) guardUrl("auth.jwt.jwksUrl", jwksUrl, allowPrivate, issues);
  if (config.upstreamAuth !== undefined) guardUrl("upstreamAuth.tokenUrl", config.upstreamAuth.tokenUrl, allowPrivate, issues);

  const secret = (field: string, name: string) => {
    const value = lookup(name);
    if (typeof value !== "string" || value === "") {
      warnings.push(`${field}: the Worker has no secret named ${name} (run \`wrangler secret put ${name}\`); until it does, requests to this service answer 503 not_configured`);
    }
  };
  if (config.upstreamAuth !== undefined) secret("upstreamAuth.clientSecretRef", config.upstreamAuth.clientSecretRef);
  if (config.signing !== undefined) secret("signing.secretRef", config.signing.secretRef);
  if (config.mtls !== undefined) {
    const name = config.mtls.certificateBinding;
    if (!hasFetch(lookup(name))) {
      warnings.push(`mtls.certificateBinding: the Worker has no mtls_certificates binding named ${name} (wrangler.toml); until it does, requests to this service answer 503 not_configured`);
    }
  }
  return { issues, warnings };
}

/** An mtls_certificates binding is a Fetcher: an object with a fetch method. */
export function hasFetch(value: unknown): value is { fetch: (input: string, init?: RequestInit) => Promise<Response> } {
  return typeof value === "object" && value !== null && typeof (value as { fetch?: unknown }).fetch === "function";
}
