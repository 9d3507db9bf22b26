import { EVENT_VERSION, MAX_LOGGED_PATH, type RequestEvent } from "../../core/events/request-event.js";
import { requestEventLine } from "../../core/events/request-line.js";
import type { TryOutcome } from "../../core/snapshot.js";
import { snapshotVersion } from "../pick/pick.js";
import { requestSpan } from "../proxy/trace-context.js";
import { routingMode, type RequestState } from "../request-state.js";

export type { RequestEvent };

/**
 * One structured line per proxied request. Workers Trace Events Logpush ships
 * console output, so this line is the analytics event (docs/analytics.md; its
 * schema, versioned, is src/core/events/request-event.ts). It is built from
 * the request state at the end, only when logging is on: REQUEST_LOG=off
 * costs no allocation for it, and no other sink depends on it.
 */

function failureLabel(o: TryOutcome): string {
  return o.failure === "status" ? String(o.status) : (o.failure ?? "status");
}

/** Longest id taken from a client-visible header (`cf-ray` can be sent by anyone outside Cloudflare's edge). */
const MAX_REQUEST_ID = 128;
/** A Content-Length as sent: digits only, and few enough for a safe integer. */
const LENGTH = /^\d{1,15}$/;

function declaredLength(headers: Headers): number | null {
  const value = headers.get("content-length");
  return value !== null && LENGTH.test(value) ? Number(value) : null;
}

/** A `request.cf` field; outside Cloudflare's edge (or in a test's hand-built request) it may be missing or not a string. */
export function cfString(cf: Request["cf"], key: "colo" | "country"): string | null {
  if (cf === undefined || !(key in cf)) return null;
  const value: unknown = key === "colo" ? cf.colo : cf.country;
  return typeof value === "string" ? value.slice(0, 16) : null;
}

/**
 * The buffered body's length when admit read it; no body at all is 0 (checked
 * before the header, so a GET costs no header lookup); else what the client
 * declared; chunked is null.
 */
function bytesIn(state: RequestState): number | null {
  if (state.body instanceof ArrayBuffer) return state.body.byteLength;
  if (state.request.body === null) return 0;
  return declaredLength(state.request.headers);
}

/**
 * The relayed answer's body length: the bytes the try read (a small body read
 * whole, or an unsized one read ahead to its end), else its Content-Length.
 * No per-chunk counting: that would put a JavaScript stream on every
 * response, so an unsized (chunked) answer that streamed and the mesh's own
 * answers report null.
 */
function bytesOut(state: RequestState): number | null {
  const response = state.last?.response ?? null;
  if (response === null || response.status !== state.status) return null;
  if (state.method === "HEAD" || state.status === 204 || state.status === 304) return 0;
  if (state.relayBody instanceof ArrayBuffer) return state.relayBody.byteLength;
  return declaredLength(response.headers);
}

/** One ISO string per millisecond: under load, requests that started in the same millisecond share it. */
let lastStarted = Number.NaN;
let lastTs = "";

function isoTime(ms: number): string {
  if (ms !== lastStarted) {
    lastStarted = ms;
    lastTs = new Date(ms).toISOString();
  }
  return lastTs;
}

/** `weight`: how many requests the line stands for, 1 unless the line was sampled (record.ts). */
export function requestEvent(state: RequestState, url: URL, now: number, weight: number): RequestEvent {
  // One pass over the tries for both lists; a request answered at once has no failure to list.
  const tried: string[] = [];
  const failures: string[] = [];
  let upstreamLatencyMs: number | null = null;
  for (const o of state.outcomes) {
    tried.push(o.instanceId);
    upstreamLatencyMs = (upstreamLatencyMs ?? 0) + o.latencyMs;
    if (!o.ok) failures.push(failureLabel(o));
  }
  const span = requestSpan(state, state.request.headers);
  // One read of `request.cf` for both fields: it is a runtime getter.
  const cf = state.request.cf;
  const ray = state.request.headers.get("cf-ray");
  return {
    v: EVENT_VERSION,
    event: "request",
    ts: isoTime(state.started),
    requestId: ray !== null && ray !== "" ? ray.slice(0, MAX_REQUEST_ID) : span.spanId,
    traceId: span.traceId,
    spanId: span.spanId,
    service: state.service?.name ?? null,
    fallbackFrom: state.fallbackFrom,
    method: state.method,
    host: url.host,
    // A pathname is percent-encoded ASCII, so the cut never splits a character; the start is what tells paths apart.
    path: url.pathname.length > MAX_LOGGED_PATH ? url.pathname.slice(0, MAX_LOGGED_PATH) : url.pathname,
    status: state.status,
    outcome: state.outcome,
    instance: state.lastInstance,
    attempts: state.outcomes.length,
    tried,
    failures,
    latencyMs: now - state.started,
    upstreamLatencyMs,
    bytesIn: bytesIn(state),
    bytesOut: bytesOut(state),
    colo: cfString(cf, "colo"),
    country: cfString(cf, "country"),
    mode: routingMode(state),
    snapshotVersion: state.service === null ? null : snapshotVersion(state),
    retryBudgetExhausted: state.budgetExhausted,
    weight,
  };
}

/** The line is written by a fixed-shape serializer: the bytes JSON.stringify would give, in about a third of its time (scripts/bench/log-micro.mjs). */
export function logRequest(event: RequestEvent): void {
  console.log(requestEventLine(event));
}
