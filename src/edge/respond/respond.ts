import { MeshError } from "../../core/errors.js";
import { downstreamHeaders, hasHopByHop } from "../../core/proxy/forward-headers.js";
import { allUnhealthy, routableButNonePicked } from "../pick/pick.js";
import { OVERLOADED_RETRY_AFTER_SECONDS } from "../proxy/flow-control.js";
import { addPin } from "../pick/session-pin.js";
import type { RequestState } from "../request-state.js";

/** Seconds a client should wait before retrying a 503 no_healthy_instance. */
const RETRY_AFTER_SECONDS = 5;

/**
 * A new Response for the origin's answer. A WebSocket's 101 (only a handshake
 * gets one through the try stage) carries the socket instead of a body:
 * workerd takes a 101 only with one, and answers the client's handshake itself.
 */
function rewrap(response: Response, body: ArrayBuffer | ReadableStream | null, headers: Headers): Response {
  if (response.status === 101) return new Response(null, { status: 101, headers, webSocket: response.webSocket });
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** The origin's answer, re-wrapped: hop-by-hop headers stripped and, unless `instanceId` is null (`responseHeaders: "none"`), the x-mesh-* headers added. */
function relay(response: Response, body: ArrayBuffer | ReadableStream | null, instanceId: string | null, attempts: number): Response {
  const headers = downstreamHeaders(response.headers);
  if (instanceId !== null) {
    headers.set("x-mesh-instance", instanceId);
    headers.set("x-mesh-attempts", String(attempts));
  }
  return rewrap(response, body, headers);
}

/**
 * `responseHeaders: "none"`: the origin's answer with only what a proxy must
 * change. When the body is the origin's own (nothing was read or watched:
 * HEAD, 204, 304, an answer with no body) and no hop-by-hop header needs stripping, that
 * is nothing, and the origin's Response goes out as it came: no header copy,
 * no new Response. A body the try read whole or watches is a new body, so it
 * needs a new Response either way.
 */
function relayPlain(response: Response, body: ArrayBuffer | ReadableStream | null): Response {
  if (body === response.body && !hasHopByHop(response.headers)) return response;
  return rewrap(response, body, downstreamHeaders(response.headers));
}

/**
 * Stage 5, respond: turns the last try into the client's answer. An origin's
 * own answer is relayed, even a failed one (the client sees the origin's 5xx);
 * a try that got no answer becomes 504 (timeout) or 502, or 400 client_error
 * when the client's own body broke it; no try at all is 503
 * no_healthy_instance with Retry-After (or overloaded), or 499 client_closed
 * when the client had gone before it.
 */
export function respond(state: RequestState): Response {
  const last = state.last;
  const name = state.service?.name ?? "";
  const attempts = state.outcomes.length;
  if (last === null) {
    if (state.clientClosed) return clientClosed(state);
    if (state.deadlinePassed) return outOfTime(state, name);
    if (state.overloaded) return overloaded(state, name);
    const why = allUnhealthy(state)
      ? "every instance is unhealthy"
      : routableButNonePicked(state)
        ? "no instance can take the request now (held back by an origin's Retry-After, or left out by the service's traffic policy)"
        : "no instance is registered";
    const error = new MeshError(503, "no_healthy_instance", `service '${name}': ${why}`, {
      headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
    });
    return answered(state, error.toResponse(), "no_healthy_instance");
  }
  // The client left before a retry it would have had (failover.ts): what the log and metrics keep.
  if (state.clientClosed && !last.ok) return clientClosed(state);
  if (last.response !== null) {
    const outcome = last.ok ? (attempts > 1 ? "failed_over" : "ok") : "upstream_error";
    const body = state.relayBody ?? last.response.body;
    const meshHeaders = state.service?.responseHeaders !== "none";
    if (!meshHeaders && state.pinHeader === null) return answered(state, relayPlain(last.response, body), outcome);
    const relayed = relay(last.response, body, meshHeaders ? (state.lastInstance ?? "") : null, attempts);
    // Session affinity: the (re-)pin made ready before this stage (pick/session-pin.ts).
    if (state.pinHeader !== null) addPin(relayed.headers, state);
    return answered(state, relayed, outcome);
  }
  if (state.clientFailed) return clientBodyFailed(state);
  const timedOut = !last.ok && last.failure.kind === "timeout";
  const error = new MeshError(timedOut ? 504 : 502, "upstream_unavailable", `service '${name}': ${attempts} attempt(s) failed`);
  return answered(state, error.toResponse(), "upstream_error");
}

/** retry.requestTimeoutMs ran out before any try could start (proxy/request-timeout.ts): a gateway timeout, as Envoy's. */
function outOfTime(state: RequestState, name: string): Response {
  const error = new MeshError(504, "upstream_unavailable", `service '${name}': its retry.requestTimeoutMs ran out before an origin was tried`);
  return answered(state, error.toResponse(), "upstream_error");
}

/** Every instance was at maxConcurrentRequestsPerInstance and no pending slot freed in time: no origin was tried. */
function overloaded(state: RequestState, name: string): Response {
  const error = new MeshError(503, "overloaded", `service '${name}': every instance is at its concurrency limit`, {
    headers: { "retry-after": String(OVERLOADED_RETRY_AFTER_SECONDS) },
  });
  return answered(state, error.toResponse(), "overloaded");
}

/**
 * The client went away before the request's first try, which was then not
 * made, or before a retry, which was then not made either (proxy/client-gone.ts).
 * Nobody reads this answer; it is what the request log and metrics record:
 * 499, nginx's "client closed request", a 4xx because the request ended on
 * the client's side, not an origin's. A failed try before it still counts
 * against its instance.
 */
function clientClosed(state: RequestState): Response {
  const error = new MeshError(499, "client_closed", "the client went away before an origin was tried");
  return answered(state, error.toResponse(), "client_closed");
}

/**
 * The client's streamed body failed while a try was sending it (it hung up,
 * sent less than it declared, or sent nothing for retry.bodyIdleTimeoutMs):
 * the client's doing, so no origin was blamed and the answer is a 4xx, which
 * a client that is still there can read.
 */
function clientBodyFailed(state: RequestState): Response {
  const error = new MeshError(400, "client_error", "the request body stopped before it was complete");
  return answered(state, error.toResponse(), "client_error");
}

/** Every answer goes out through here, so the record stage always sees its status and outcome. */
export function answered(state: RequestState, response: Response, outcome: RequestState["outcome"]): Response {
  state.status = response.status;
  state.outcome = outcome;
  return response;
}
