import { SecurityError } from "../errors.js";
import { hasFetch } from "./config-check.js";

/**
 * Reading what a service config names from the Worker's `env`, per request.
 * Configs live in KV and name secrets and bindings instead of holding them
 * (docs/security.md); a name the Worker lacks is a deployment mistake, so it
 * answers 503 not_configured and the error log names what is missing. The
 * value itself is never logged or sent.
 */

/** What tryOrigin calls instead of the global fetch for a service with `mtls`. */
export type Send = (input: string, init: RequestInit) => Promise<Response>;

function binding(env: Env, name: string): unknown {
  // Names come from validated config (SECRET_REF, never the mesh's own bindings), so any may be asked for.
  return (env as unknown as Record<string, unknown>)[name];
}

function missing(service: string, field: string, name: string): SecurityError {
  console.error(JSON.stringify({ event: "config_missing_binding", service, field, name }));
  return new SecurityError(503, "not_configured", `service '${service}' names a secret or binding this Worker does not have; the error log names it`);
}

/** The secret's value; throws 503 not_configured (logging the secret's name) when the Worker lacks it. */
export function secretFrom(env: Env, service: string, field: string, name: string): string {
  const value = binding(env, name);
  if (typeof value !== "string" || value === "") throw missing(service, field, name);
  return value;
}

/** The fetch of an `[[mtls_certificates]]` binding; throws 503 not_configured when the Worker lacks it. */
export function certificateFetch(env: Env, service: string, name: string): Send {
  const fetcher = binding(env, name);
  if (!hasFetch(fetcher)) throw missing(service, "mtls.certificateBinding", name);
  return (input, init) => fetcher.fetch(input, init);
}
