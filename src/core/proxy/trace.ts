/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), level 1: the
 * `traceparent` header is `00-<trace-id>-<parent-id>-<flags>`, lowercase hex,
 * 32, 16 and 2 digits. The mesh is one hop of the trace: it keeps the
 * caller's trace id, makes its own span, and sends that span as the parent
 * to the origin. A header it cannot parse starts a new trace, as the spec
 * asks, rather than passing garbage on.
 */

export interface TraceContext {
  traceId: string;
  /** The caller's span (the incoming parent-id); null when the mesh started the trace. */
  parentId: string | null;
  flags: string;
}

/** Version 00, lowercase hex only; the spec forbids uppercase, and an all-zero id. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
/** A trace the mesh starts is sampled: the flag asks the origin's tracer to record it. */
const SAMPLED = "01";

export function parseTraceparent(value: string | null): TraceContext | null {
  if (value === null) return null;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return null;
  const [, traceId, parentId, flags] = m;
  if (traceId === undefined || parentId === undefined || flags === undefined) return null;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, flags };
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase hex of bytes[from, to). A table lookup per byte: no per-call allocation beyond the string. */
export function hex(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += HEX[bytes[i] ?? 0];
  return s;
}

/** The mesh's hop of a trace: the trace it belongs to, its own span id, the flags it passes on. */
export interface Span {
  traceId: string;
  spanId: string;
  flags: string;
}

/** Bytes one request needs: 16 for a trace id it may have to start, 8 for its own span id. */
export const TRACE_RANDOM_BYTES = 24;

/**
 * The mesh's hop: `random[at, at + TRACE_RANDOM_BYTES)` holds fresh random
 * bytes (the caller fills them, so this stays pure). The first 16 become the
 * trace id when there is no valid incoming one, the last 8 the mesh's span
 * id. An all-zero draw (probability 2^-64) would be invalid on the wire, so
 * it is replaced by 1.
 */
export function childSpan(incoming: TraceContext | null, random: Uint8Array, at = 0): Span {
  let spanId = hex(random, at + 16, at + 24);
  if (spanId === ZERO_SPAN) spanId = "0000000000000001";
  if (incoming !== null) return { traceId: incoming.traceId, spanId, flags: incoming.flags };
  let traceId = hex(random, at, at + 16);
  if (traceId === ZERO_TRACE) traceId = "00000000000000000000000000000001";
  return { traceId, spanId, flags: SAMPLED };
}

export function formatTraceparent(span: Span): string {
  return `00-${span.traceId}-${span.spanId}-${span.flags}`;
}
