import { describe, expect, it } from "vitest";
import { EVENT_VERSION, requestEventSchema, type RequestEvent } from "../../../src/core/events/request-event.js";
import { meshEventSchema } from "../../../src/core/events/mesh-event.js";

function event(over: Partial<Record<keyof RequestEvent, unknown>> = {}): Record<string, unknown> {
  const base: RequestEvent = {
    v: EVENT_VERSION,
    event: "request",
    ts: "2026-11-30T10:00:00.000Z",
    requestId: "8e1f2a3b4c5d6e7f-LHR",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    service: "shop",
    fallbackFrom: null,
    method: "GET",
    host: "mesh.example.com",
    path: "/shop/items",
    status: 200,
    outcome: "failed_over",
    instance: "a8af2e64f8def05a",
    attempts: 2,
    tried: ["c268f781ab94296e", "a8af2e64f8def05a"],
    failures: ["reset"],
    latencyMs: 7,
    upstreamLatencyMs: 5,
    bytesIn: 0,
    bytesOut: 1234,
    colo: "LHR",
    country: "GB",
    mode: "snapshot",
    snapshotVersion: 12,
    retryBudgetExhausted: false,
    weight: 1,
  };
  return { ...base, ...over };
}

function failingPath(value: Record<string, unknown>): string | undefined {
  const r = requestEventSchema.safeParse(value);
  return r.success ? undefined : r.error.issues[0]?.path.join(".");
}

describe("the request event, version 1", () => {
  it("accepts the documented example, through the union of every mesh event too", () => {
    expect(requestEventSchema.safeParse(event()).success).toBe(true);
    expect(meshEventSchema.safeParse(event()).success).toBe(true);
  });

  it("accepts the nulls a request answered before any try carries", () => {
    const early = event({ service: null, instance: null, attempts: 0, tried: [], failures: [], upstreamLatencyMs: null, bytesOut: null, colo: null, country: null, mode: null, snapshotVersion: null, outcome: "no_route", status: 404 });
    expect(requestEventSchema.safeParse(early).success).toBe(true);
  });

  it("accepts outcomes added by later admission policies, which a version 1 reader must still take", () => {
    expect(failingPath(event({ outcome: "rate_limited", status: 429 }))).toBeUndefined();
  });

  it("accepts a sampled success's weight, whole or fractional (1/p)", () => {
    expect(failingPath(event({ outcome: "ok", attempts: 1, failures: [], weight: 100 }))).toBeUndefined();
    expect(failingPath(event({ outcome: "ok", attempts: 1, failures: [], weight: 1 / 0.3 }))).toBeUndefined();
    expect(failingPath(event({ weight: 1 / 0.000001 }))).toBeUndefined();
  });

  it.each([
    ["weight", { weight: 0.5 }],
    ["weight", { weight: 0 }],
    ["weight", { weight: undefined }],
    ["weight", { weight: Number.POSITIVE_INFINITY }],
    ["weight", { weight: 2_000_000 }],
    ["v", { v: 2 }],
    ["v", { v: undefined }],
    ["traceId", { traceId: "4BF92F3577B34DA6A3CE929D0E0E4736" }],
    ["spanId", { spanId: "00f067aa" }],
    ["requestId", { requestId: "" }],
    ["requestId", { requestId: "x".repeat(200) }],
    ["path", { path: "/" + "a".repeat(9000) }],
    ["tried", { tried: Array.from({ length: 65 }, () => "i") }],
    ["bytesOut", { bytesOut: -1 }],
    ["upstreamLatencyMs", { upstreamLatencyMs: 1.5 }],
    ["status", { status: 42 }],
    ["outcome", { outcome: "Not An Outcome" }],
    ["mode", { mode: "fast" }],
    ["ts", { ts: "yesterday" }],
    // Date.parse reads each of these as a time: the schema must not.
    ["ts", { ts: "2026" }],
    ["ts", { ts: "Tue, 01 Dec 2026 10:00:00 GMT" }],
    ["ts", { ts: "2026-12-01 10:00" }],
    ["ts", { ts: "2026-02-30T10:00:00.000Z" }],
  ])("names the bad field: %s", (field, over) => {
    expect(failingPath(event(over))).toBe(field);
  });
});
