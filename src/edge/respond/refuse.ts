import { MeshError } from "../../core/errors.js";
import { refusalHeaders, retryAfterSeconds } from "../../core/rate-limit/compiled-limits.js";
import type { SecurityError } from "../../security/errors.js";
import type { Refusal } from "../admit/admit.js";
import type { EdgeLimitRefusal } from "../admit/edge-limit.js";
import type { RateLimitRefusal } from "../admit/rate-limit.js";
import type { RequestState } from "../request-state.js";
import { answered } from "./respond.js";

/** Answers for requests the mesh does not send to any origin. */

export function noRoute(state: RequestState, url: URL): Response {
  return answered(state, new MeshError(404, "no_route", `no service routes ${url.host}${url.pathname}`).toResponse(), "no_route");
}

/** A request admission turned away: the client's doing, so a 4xx that names no origin (or the JWT policy's own answer). */
export function refused(state: RequestState, refusal: Refusal): Response {
  if (refusal.outcome === "rate_limited") return "edge" in refusal ? edgeLimited(state, refusal) : rateLimited(state, refusal);
  if ("error" in refusal) return answered(state, refusal.error.toResponse(), refusal.outcome);
  return answered(state, new MeshError(400, "client_error", refusal.message).toResponse(), refusal.outcome);
}

/**
 * 429 from a rate limit (docs/api.md, "Rate limits"): names the limit, says
 * when to come back (Retry-After, and the IETF draft's RateLimit-Policy and
 * RateLimit). No origin was tried, so none is blamed or reported.
 */
function rateLimited(state: RequestState, refusal: RateLimitRefusal): Response {
  const name = refusal.limit.name;
  const message = `rate limit '${name}' exceeded; retry after ${retryAfterSeconds(refusal.retryAfterMs)} s`;
  return tooManyRequests(state, name, message, refusalHeaders(refusal.limit, refusal.retryAfterMs));
}

/**
 * 429 from the EDGE_RATE_LIMIT binding (edge-limit.ts): the same body as a
 * service limit's, naming the binding. Retry-After is the binding's period
 * (EDGE_RATE_LIMIT_PERIOD): the binding tells no caller when its window ends,
 * and a shorter wait sends an obedient client back into more 429s. Its limit
 * lives in wrangler.toml, out of the Worker's reach, so no RateLimit header.
 */
function edgeLimited(state: RequestState, refusal: EdgeLimitRefusal): Response {
  const seconds = refusal.retryAfterSeconds;
  const message = `this location's per-client request limit is exceeded; retry after ${seconds} s`;
  return tooManyRequests(state, "EDGE_RATE_LIMIT", message, { "retry-after": String(seconds) });
}

/** The one 429 body of the data plane, `{ error: "rate_limited", limit, message }`, with the limit's headers. */
function tooManyRequests(state: RequestState, limit: string, message: string, limitHeaders: Record<string, string>): Response {
  const body = JSON.stringify({ error: "rate_limited", limit, message });
  const headers = { "content-type": "application/json; charset=utf-8", ...limitHeaders };
  return answered(state, new Response(body, { status: 429, headers }), "rate_limited");
}

/**
 * A security error the try stage raised on purpose (a token endpoint down, a
 * secret the Worker lacks): its own status and code. No origin answered, so
 * none is blamed; the outcome keeps it apart from origin errors and mesh bugs.
 */
export function securityFailed(state: RequestState, err: SecurityError): Response {
  return answered(state, err.toResponse(), "security_error");
}

/**
 * A mesh bug: an exception no stage expected. The client gets a 500 with an
 * opaque reference; the same reference and the stack go to the error log, so
 * the two can be matched without the stack ever reaching the wire.
 */
export function meshFailed(state: RequestState, err: unknown): Response {
  const reference = crypto.randomUUID();
  console.error(
    JSON.stringify({
      event: "router_error",
      reference,
      service: state.service?.name ?? null,
      message: String(err),
      stack: err instanceof Error ? err.stack : undefined,
    }),
  );
  const error = new MeshError(500, "mesh_error", `the mesh failed to handle this request; reference ${reference}`, { reference });
  return answered(state, error.toResponse(), "mesh_error");
}
