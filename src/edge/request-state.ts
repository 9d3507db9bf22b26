import type { RouteMatch } from "../core/routes/route-table.js";
import type { LocalServiceState } from "../core/local-health/local-service-state.js";
import { UNDECIDED, type TrafficPolicy } from "../core/policy/traffic-view.js";
import type { LocalityTarget } from "../core/policy/locality.js";
import type { Span } from "../core/proxy/trace.js";
import type { TryOutcome } from "../core/snapshot.js";
import type { RoutedService } from "../registry/route-index.js";
import type { TryResult } from "./proxy/try-origin.js";
import type { RelaySlot } from "./proxy/relay-slot.js";

/**
 * How one proxied request ended, as analytics sees it (docs/analytics.md).
 * `client_error` and `mesh_error` keep a client's bad body and a mesh bug from
 * being counted against origins as `upstream_error`.
 */
export type RequestOutcome =
  | "ok"
  | "failed_over"
  | "upstream_error"
  | "no_healthy_instance"
  | "no_route"
  | "client_error"
  | "mesh_error"
  /** Refused by the service's JWT policy (401/403) before any origin was picked. */
  | "unauthorized"
  /** A security dependency failed: JWKS or token endpoint down, or a named secret/binding missing (5xx). */
  | "security_error"
  /** Refused 429 by one of the service's `rateLimits` before any origin was picked. */
  | "rate_limited"
  /** 503: every instance was at maxConcurrentRequestsPerInstance and no pending slot was free (flow control). */
  | "overloaded"
  /** 503: the client is in the service's shedPercent share (flow control). */
  | "shed"
  /** 499: the client went away before the request's first try (or while it waited for a slot): no origin was tried. */
  | "client_closed";

export type RoutingMode = "snapshot" | "strict" | "kv-fallback";

/**
 * Everything one request carries from stage to stage: the single per-request
 * object of the data plane. Stages fill it in order (route → admit → pick /
 * try → respond) and the record stage reads it, so adding a stage adds fields
 * here rather than closures or objects per request. It also serves as the
 * `{ method, headers, body }` init of every try (proxy/try-origin.ts).
 */
export interface RequestState {
  readonly started: number;
  readonly method: string;
  /** The client's request as it came in; the request event reads `cf`, `cf-ray` and the declared length from it. */
  readonly request: Request;
  /** The client's headers until the proxy stage replaces them with the upstream set. */
  headers: Headers;
  /** Set by admit: the body to send, and whether it can be sent again. */
  body: ArrayBuffer | ReadableStream<Uint8Array> | null;
  replayable: boolean;
  /** Set by admit for a service with auth.jwt: the verified token's claims. */
  claims: Record<string, unknown> | null;
  /** Set by the try stage when a streamed body failed on the client's side (proxy/client-body.ts): no origin is blamed. */
  clientFailed: boolean;
  /** Made with that watcher: aborts the try in flight when the client's body fails. */
  clientAbort: AbortController | null;
  /**
   * Kept by that watcher: ms the try has spent waiting for the client's next chunk, and since
   * when it is waiting now (null: it is not). The per-try timeout does not count them (try-origin.ts).
   */
  clientWaitMs: number;
  clientWaitingSince: number | null;
  /** Set by the try stage: the request is a WebSocket handshake, whose 101 carries the socket (core/proxy/forward-headers.ts). */
  webSocket: boolean;
  /** Set by route. */
  service: RoutedService | null;
  match: RouteMatch | null;
  /** Set by pick for hash balancers: the request's hash key (undefined: none, or not a hash kind). */
  hashKey: string | undefined;
  /** Set by pick for a service with `locality`, from `request.cf`: what this request prefers (null: nothing). */
  near: LocalityTarget | null;
  /** Set by the fallback hop (route/fallback.ts): the service that had nothing healthy and handed the request on. */
  fallbackFrom: string | null;
  /** Set by pick: snapshot mode's local state, or strict mode's once it fell back. */
  local: LocalServiceState | null;
  /** True while picks go to the coordinator (strict mode before any fallback). */
  strict: boolean;
  /** What the coordinator said with its last strict pick. */
  strictVersion: number | null;
  strictAllUnhealthy: boolean;
  /** Instances tried so far; made on the first failed try, since a request answered at once never needs one. */
  tried: Set<string> | undefined;
  /** One per try, in order; what the outcome reporter ships to the coordinator. */
  outcomes: TryOutcome[];
  last: TryResult | null;
  /** The body respond relays instead of the last answer's own (proxy/relayed-body.ts): read whole, or watched; null when neither. */
  relayBody: ArrayBuffer | ReadableStream<Uint8Array> | null;
  lastInstance: string | null;
  /**
   * Services with maxConcurrentRequestsPerInstance: the last answer's hold on its
   * instance's slot until its body is relayed in full (proxy/relay-slot.ts); null otherwise.
   */
  relaySlot: RelaySlot | null;
  /** Set by the try stage when every instance was at its concurrency cap: respond answers 503 overloaded. */
  overloaded: boolean;
  /**
   * retry.requestTimeoutMs: when the try stage began, which its time counts from (proxy/request-timeout.ts);
   * null until then. The request's own deadline is this plus the service's requestTimeoutMs.
   */
  tryStageAt: number | null;
  /** Set by the try stage when the request's time ran out before any try of its service: respond answers 504. */
  deadlinePassed: boolean;
  /** The try in flight was left less than a try's full time by the request's earlier tries or waits (proxy/request-timeout.ts). */
  tryCut: boolean;
  /** Set by the try stage when the client had gone before the request's first try (proxy/client-gone.ts): no try was made. */
  clientClosed: boolean;
  /** Set by the try stage when the retry budget refused a retry the policy allowed (for the request log). */
  budgetExhausted: boolean;
  /** Set by pick for services with affinity, split or slow start (src/core/policy/); null otherwise. */
  traffic: TrafficPolicy | null;
  /** The instance a verified affinity value names (pick/session-pin.ts). */
  pinned: string | null;
  /** The split group chosen at the first pick (core/policy/traffic-view.ts). */
  splitGroup: number;
  /** The affinity value respond sends back (a Set-Cookie value, or the header's); null: none. */
  pinHeader: string | null;
  /** The mesh's span of the request's W3C trace (proxy/trace-context.ts); null until the try stage or the event needs it. */
  span: Span | null;
  /** Set by respond (or by a stage that answers early). */
  status: number;
  outcome: RequestOutcome;
}

export function newRequestState(request: Request, started: number): RequestState {
  return {
    started,
    method: request.method,
    request,
    headers: request.headers,
    body: null,
    replayable: true,
    claims: null,
    clientFailed: false,
    clientAbort: null,
    clientWaitMs: 0,
    clientWaitingSince: null,
    webSocket: false,
    service: null,
    match: null,
    hashKey: undefined,
    near: null,
    fallbackFrom: null,
    local: null,
    strict: false,
    strictVersion: null,
    strictAllUnhealthy: false,
    tried: undefined,
    outcomes: [],
    last: null,
    relayBody: null,
    lastInstance: null,
    relaySlot: null,
    overloaded: false,
    tryStageAt: null,
    deadlinePassed: false,
    tryCut: false,
    clientClosed: false,
    budgetExhausted: false,
    traffic: null,
    pinned: null,
    splitGroup: UNDECIDED,
    pinHeader: null,
    span: null,
    status: 0,
    outcome: "ok",
  };
}

export function routingMode(state: RequestState): RoutingMode | null {
  if (state.strict) return "strict";
  if (state.local === null) return null;
  return state.local.source === "kv" ? "kv-fallback" : "snapshot";
}
