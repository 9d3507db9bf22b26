import type { RequestEvent } from "./request-event.js";

/*
 * The request event as its JSON line, written out field by field: the same
 * bytes JSON.stringify(event) gives (a unit property test compares the two on
 * arbitrary events), without JSON.stringify's generic walk over an object whose
 * shape never changes. Most of the line's strings are ids, hex, slugs or ISO
 * times that never need escaping; every string still goes through `str`, so a
 * path, host or `cf-ray` that does is escaped exactly as JSON.stringify would.
 */

/**
 * Anything JSON must escape, or that JSON.stringify writes as `\uXXXX`: a quote,
 * a backslash, a control character, or any surrogate (a lone one is escaped,
 * and a valid pair costs the rare string that has one a native stringify).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: JSON must escape them.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function nullableStr(s: string | null): string {
  return s === null ? "null" : str(s);
}

/** JSON.stringify writes NaN and ±Infinity as null; the event's numbers are finite (`weight` may be fractional), so this never fires in practice. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

function nullableNum(n: number | null): string {
  return n === null ? "null" : num(n);
}

function strArray(items: readonly string[]): string {
  if (items.length === 0) return "[]";
  let out = "[";
  for (let i = 0; i < items.length; i++) out += (i === 0 ? "" : ",") + str(items[i] ?? "");
  return `${out}]`;
}

/** One request event as the line `JSON.stringify(event)` would print, in the schema's field order. */
export function requestEventLine(e: RequestEvent): string {
  return (
    `{"v":${num(e.v)},"event":${str(e.event)},"ts":${str(e.ts)},"requestId":${str(e.requestId)}` +
    `,"traceId":${str(e.traceId)},"spanId":${str(e.spanId)},"service":${nullableStr(e.service)}` +
    `,"fallbackFrom":${nullableStr(e.fallbackFrom)},"method":${str(e.method)},"host":${str(e.host)}` +
    `,"path":${str(e.path)},"status":${num(e.status)},"outcome":${str(e.outcome)},"instance":${nullableStr(e.instance)}` +
    `,"attempts":${num(e.attempts)},"tried":${strArray(e.tried)},"failures":${strArray(e.failures)}` +
    `,"latencyMs":${num(e.latencyMs)},"upstreamLatencyMs":${nullableNum(e.upstreamLatencyMs)}` +
    `,"bytesIn":${nullableNum(e.bytesIn)},"bytesOut":${nullableNum(e.bytesOut)}` +
    `,"colo":${nullableStr(e.colo)},"country":${nullableStr(e.country)},"mode":${e.mode === null ? "null" : str(e.mode)}` +
    `,"snapshotVersion":${nullableNum(e.snapshotVersion)},"retryBudgetExhausted":${e.retryBudgetExhausted ? "true" : "false"}` +
    `,"weight":${num(e.weight)}}`
  );
}
