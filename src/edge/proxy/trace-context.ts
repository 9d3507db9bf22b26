import { childSpan, formatTraceparent, parseTraceparent, TRACE_RANDOM_BYTES, type Span, type TraceContext } from "../../core/proxy/trace.js";
import type { RequestState } from "../request-state.js";

/*
 * One buffer per isolate, refilled per request: one getRandomValues call of
 * 24 bytes and no allocation but the span. Nothing awaits between the fill
 * and the read, so requests sharing the buffer cannot interleave.
 */
const random = new Uint8Array(TRACE_RANDOM_BYTES);

function startSpan(incoming: TraceContext | null): Span {
  crypto.getRandomValues(random);
  return childSpan(incoming, random);
}

/**
 * The try stage's step, right after the upstream headers are built: the
 * request joins the caller's trace when it sent a valid `traceparent`, or
 * starts one, and the origin gets a child `traceparent` whose parent is the
 * mesh's span. `tracestate` was copied unchanged with the other headers; a
 * trace the mesh started drops it, since the spec ties it to the
 * traceparent it came with.
 */
export function propagateTrace(state: RequestState, upstream: Headers): void {
  const incoming = parseTraceparent(upstream.get("traceparent"));
  const span = (state.span ??= startSpan(incoming));
  if (incoming === null) upstream.delete("tracestate");
  upstream.set("traceparent", formatTraceparent(span));
}

/** The request's span; for a request answered before any try (no route, refused) it is made here, for its event. */
export function requestSpan(state: RequestState, incoming: Headers): Span {
  return (state.span ??= startSpan(parseTraceparent(incoming.get("traceparent"))));
}
