import { childSpan, formatTraceparent, parseTraceparent, TRACE_RANDOM_BYTES, type Span, type TraceContext } from "../../core/proxy/trace.js";
import type { RequestState } from "../request-state.js";

/*
 * Random bytes for 64 requests per getRandomValues call: the call's own
 * overhead, not the bytes, is what a per-request fill pays for (measured in
 * Node: ~4 µs per 24-byte call on the shared bench machine, docs/analytics.md).
 * One pool per isolate; nothing awaits between taking bytes and using them,
 * so requests cannot interleave in it.
 */
const SPANS_PER_FILL = 64;
const pool = new Uint8Array(TRACE_RANDOM_BYTES * SPANS_PER_FILL);
let next = pool.length;

function startSpan(incoming: TraceContext | null): Span {
  if (next === pool.length) {
    crypto.getRandomValues(pool);
    next = 0;
  }
  const at = next;
  next += TRACE_RANDOM_BYTES;
  return childSpan(incoming, pool, at);
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
