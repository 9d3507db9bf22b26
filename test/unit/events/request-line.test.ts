import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_VERSION, requestEventSchema, type RequestEvent } from "../../../src/core/events/request-event.js";
import { requestEventLine } from "../../../src/core/events/request-line.js";
import { requestEventArbitrary } from "./request-event-arbitrary.js";

/** Any string, including quotes, backslashes, control characters, non-ASCII and lone surrogates. */
const anyString = fc.string({ unit: "binary", maxLength: 40 });
/** Strings built from the characters JSON must escape, mixed with plain ones, so every escape path is hit often. */
const escapeHeavy = fc.string({
  unit: fc.constantFrom('"', "\\", "\n", "\r", "\t", "\u0000", "\u001f", "\u007f", "\u2028", "\ud800", "\udfff", "\ud83d\ude00", "é", "a", "/"),
  maxLength: 20,
});
const text = fc.oneof(anyString, escapeHeavy);
const int = fc.integer({ min: 0, max: 2 ** 53 - 1 });

// Field order as the record stage builds the event (src/edge/report/request-log.ts): JSON.stringify follows it.
const anyEvent: fc.Arbitrary<RequestEvent> = requestEventArbitrary({ text, number: int, status: fc.integer({ min: 100, max: 599 }), maxListLength: 4 });

describe("requestEventLine", () => {
  it("writes exactly the bytes JSON.stringify writes, for any event", () => {
    fc.assert(
      fc.property(anyEvent, (e) => {
        expect(requestEventLine(e)).toBe(JSON.stringify(e));
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips through JSON.parse to the same event", () => {
    fc.assert(
      fc.property(anyEvent, (e) => {
        expect(JSON.parse(requestEventLine(e))).toEqual(e);
      }),
      { numRuns: 500 },
    );
  });

  it("escapes what JSON requires, and lone surrogates as JSON.stringify does", () => {
    const e: RequestEvent = {
      v: EVENT_VERSION,
      event: "request",
      ts: "2026-11-30T10:00:00.000Z",
      requestId: 'ray"with\\quote',
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      service: "shop",
      fallbackFrom: null,
      method: "GET",
      host: "mesh.example.com",
      path: "/a\nb\u0001\ud800",
      status: 200,
      outcome: "ok",
      instance: null,
      attempts: 0,
      tried: [],
      failures: [],
      latencyMs: 0,
      upstreamLatencyMs: null,
      bytesIn: null,
      bytesOut: null,
      colo: "LHR",
      country: "G\udfffB",
      mode: null,
      snapshotVersion: null,
      retryBudgetExhausted: true,
      weight: 1,
    };
    const line = requestEventLine(e);
    expect(line).toContain('"requestId":"ray\\"with\\\\quote"');
    expect(line).toContain('"path":"/a\\nb\\u0001\\ud800"');
    // A lone surrogate in an otherwise plain string: written as an escape, so the line stays valid UTF-8.
    expect(line).toContain('"country":"G\\udfffB"');
    expect(requestEventSchema.safeParse(JSON.parse(line)).success).toBe(true);
  });

  it("writes any number as JSON.stringify does: negative (a KV-fallback snapshotVersion is -1), -0, fractional, huge", () => {
    const anyNumber = fc.oneof(fc.double(), fc.integer({ min: -(2 ** 31), max: -1 }), fc.constantFrom(-0, -1, 1e21, 5e-7, Number.MAX_VALUE));
    fc.assert(
      fc.property(anyEvent, anyNumber, fc.option(anyNumber, { nil: null }), (e, n, m) => {
        const odd: RequestEvent = { ...e, status: n, attempts: n, latencyMs: n, snapshotVersion: m, bytesIn: m, upstreamLatencyMs: m, weight: n };
        expect(requestEventLine(odd)).toBe(JSON.stringify(odd));
      }),
      { numRuns: 1000 },
    );
  });

  it("writes a number JSON cannot hold as null, as JSON.stringify does", () => {
    const e: RequestEvent = { ...anyEventSample(), latencyMs: Number.NaN, bytesOut: Number.POSITIVE_INFINITY };
    expect(requestEventLine(e)).toBe(JSON.stringify(e));
  });
});

function anyEventSample(): RequestEvent {
  const [sample] = fc.sample(anyEvent, { numRuns: 1, seed: 7 });
  if (sample === undefined) throw new Error("fast-check gave no sample");
  return sample;
}
