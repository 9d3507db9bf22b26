import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { childSpan, formatTraceparent, hex, parseTraceparent, TRACE_RANDOM_BYTES } from "../../../src/core/proxy/trace.js";
import { spanIdSchema, traceIdSchema } from "../../../src/core/events/request-event.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

function bytes(fill: (i: number) => number): Uint8Array {
  return Uint8Array.from({ length: TRACE_RANDOM_BYTES }, (_, i) => fill(i));
}

describe("parseTraceparent", () => {
  it("reads a W3C version 00 header (the spec's own example)", () => {
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: "01" });
  });

  it.each([
    ["absent", null],
    ["empty", ""],
    ["uppercase hex", `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`],
    ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["the forbidden version ff", `ff-${TRACE}-${PARENT}-01`],
    ["another version", `01-${TRACE}-${PARENT}-01`],
    ["a short trace id", `00-${TRACE.slice(1)}-${PARENT}-01`],
    ["a long parent id", `00-${TRACE}-${PARENT}0-01`],
    ["non-hex flags", `00-${TRACE}-${PARENT}-zz`],
    ["an extra field", `00-${TRACE}-${PARENT}-01-extra`],
  ])("refuses %s, so the mesh starts a new trace", (_what, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });
});

describe("childSpan", () => {
  it("keeps the caller's trace id and flags and makes its own span id from bytes 16-23", () => {
    const span = childSpan(parseTraceparent(`00-${TRACE}-${PARENT}-00`), bytes((i) => i));
    expect(span).toEqual({ traceId: TRACE, spanId: "1011121314151617", flags: "00" });
  });

  it("starts a sampled trace from bytes 0-15 when none came in", () => {
    const span = childSpan(null, bytes((i) => 255 - i));
    expect(span.traceId).toBe(hex(bytes((i) => 255 - i), 0, 16));
    expect(span.spanId).toBe("efeeedecebeae9e8");
    expect(span.flags).toBe("01");
  });

  it("never produces an all-zero id, which would be invalid on the wire", () => {
    const span = childSpan(null, bytes(() => 0));
    expect(parseTraceparent(formatTraceparent(span))).not.toBeNull();
  });

  it("whatever the random bytes, the header it makes parses back to the same ids", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: TRACE_RANDOM_BYTES, maxLength: TRACE_RANDOM_BYTES }), fc.boolean(), (random, continued) => {
        const incoming = continued ? parseTraceparent(`00-${TRACE}-${PARENT}-01`) : null;
        const span = childSpan(incoming, random);
        const back = parseTraceparent(formatTraceparent(span));
        expect(back).toEqual({ traceId: span.traceId, parentId: span.spanId, flags: span.flags });
        expect(traceIdSchema.safeParse(span.traceId).success).toBe(true);
        expect(spanIdSchema.safeParse(span.spanId).success).toBe(true);
        if (continued) expect(span.traceId).toBe(TRACE);
      }),
    );
  });
});
