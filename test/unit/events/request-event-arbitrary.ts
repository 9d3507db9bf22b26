import fc from "fast-check";
import { EVENT_VERSION, type RequestEvent } from "../../../src/core/events/request-event.js";

/**
 * A request event in the field order the record stage builds it
 * (src/edge/report/request-log.ts), which JSON.stringify and requestEventLine
 * follow and scripts/logs-report/read/request-shape.mjs reads. The tests that
 * use it choose the strings and numbers: every escape path for the
 * serializer, the shapes the log reader must tell apart for the reader.
 */
export function requestEventArbitrary(opts: {
  text: fc.Arbitrary<string>;
  number: fc.Arbitrary<number>;
  status?: fc.Arbitrary<number>;
  ts?: fc.Arbitrary<string>;
  maxListLength?: number;
  /** Default: 1 (an unsampled line) or a sampled success's 1/p, whole or fractional. */
  weight?: fc.Arbitrary<number>;
}): fc.Arbitrary<RequestEvent> {
  const { text, number } = opts;
  const nullableText = fc.option(text, { nil: null });
  const nullableNumber = fc.option(number, { nil: null });
  const list = fc.array(text, { maxLength: opts.maxListLength ?? 3 });
  return fc.record({
    v: fc.constant(EVENT_VERSION),
    event: fc.constant("request" as const),
    ts: opts.ts ?? text,
    requestId: text,
    traceId: text,
    spanId: text,
    service: nullableText,
    fallbackFrom: nullableText,
    method: text,
    host: text,
    path: text,
    status: opts.status ?? number,
    outcome: text,
    instance: nullableText,
    attempts: number,
    tried: list,
    failures: list,
    latencyMs: number,
    upstreamLatencyMs: nullableNumber,
    bytesIn: nullableNumber,
    bytesOut: nullableNumber,
    colo: nullableText,
    country: nullableText,
    mode: fc.constantFrom("snapshot", "strict", "kv-fallback", null),
    snapshotVersion: nullableNumber,
    retryBudgetExhausted: fc.boolean(),
    weight: opts.weight ?? fc.oneof(fc.constant(1), fc.constantFrom(0.5, 0.3, 0.01, 0.001, 0.000001).map((p) => 1 / p)),
  });
}
