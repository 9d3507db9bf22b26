import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ANALYTICS_BLOBS,
  ANALYTICS_DOUBLES,
  analyticsPoint,
  cutUtf8,
  MAX_BLOB_BYTES,
  MAX_BLOBS_BYTES,
  MAX_INDEX_BYTES,
  type FinishedRequest,
} from "../../../src/core/events/analytics-point.js";

/**
 * The Analytics Engine data point (src/core/events/analytics-point.ts). A
 * local writeDataPoint is a no-op that keeps nothing (Miniflare and workerd
 * alike), so this mapping is where what is written can be checked; the
 * worker and e2e tests only show that a bound dataset leaves answers alone.
 */

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

const ok = { ok: true };
const failed = { ok: false };

function request(over: Partial<FinishedRequest> = {}): FinishedRequest {
  return { service: "shop", instance: "a8af2e64f8def05a", outcome: "ok", colo: "LHR", latencyMs: 12, status: 200, tries: [ok], ...over };
}

/** The point as named fields, by the layout's own tables, so each assertion says which position it means. */
function named(r: FinishedRequest): { index: string; blobs: Record<string, string>; doubles: Record<string, number> } {
  const p = analyticsPoint(r);
  expect(p.blobs).toHaveLength(ANALYTICS_BLOBS.length);
  expect(p.doubles).toHaveLength(ANALYTICS_DOUBLES.length);
  return {
    index: p.indexes[0],
    blobs: Object.fromEntries(ANALYTICS_BLOBS.map((name, i) => [name, p.blobs[i] ?? "missing"])),
    doubles: Object.fromEntries(ANALYTICS_DOUBLES.map((name, i) => [name, p.doubles[i] ?? Number.NaN])),
  };
}

describe("analyticsPoint: the pinned layout", () => {
  it("puts service, instance, outcome, colo in blob1-4 and latency, attempts in double1-2, indexed by service", () => {
    const p = analyticsPoint(request());
    expect(p).toEqual({
      indexes: ["shop"],
      // blob1 service, blob2 instance, blob3 outcome, blob4 colo (issue 12)
      blobs: ["shop", "a8af2e64f8def05a", "ok", "LHR"],
      // double1 latencyMs, double2 attempts (issue 12); then status, error, failover
      doubles: [12, 1, 200, 0, 0],
    });
  });

  it("names its positions in the pinned order, the appended ones after", () => {
    expect(ANALYTICS_BLOBS).toEqual(["service", "instance", "outcome", "colo"]);
    expect(ANALYTICS_DOUBLES.slice(0, 2)).toEqual(["latencyMs", "attempts"]);
    expect(ANALYTICS_DOUBLES).toEqual(["latencyMs", "attempts", "status", "error", "failover"]);
  });
});

describe("analyticsPoint: outcomes", () => {
  // Every outcome the record stage can see (RequestOutcome, edge/request-state.ts) with a status it is answered with.
  const cases: { outcome: string; status: number; tries: { ok: boolean }[]; error: 0 | 1; failover: 0 | 1; instance: string | null }[] = [
    { outcome: "ok", status: 200, tries: [ok], error: 0, failover: 0, instance: "i1" },
    { outcome: "failed_over", status: 200, tries: [failed, ok], error: 0, failover: 1, instance: "i2" },
    { outcome: "upstream_error", status: 503, tries: [failed, failed], error: 1, failover: 0, instance: "i2" },
    { outcome: "upstream_error", status: 502, tries: [failed], error: 1, failover: 0, instance: "i1" },
    { outcome: "upstream_error", status: 504, tries: [failed], error: 1, failover: 0, instance: "i1" },
    { outcome: "no_healthy_instance", status: 503, tries: [], error: 1, failover: 0, instance: null },
    { outcome: "client_error", status: 400, tries: [], error: 0, failover: 0, instance: null },
    { outcome: "mesh_error", status: 500, tries: [], error: 1, failover: 0, instance: null },
    { outcome: "unauthorized", status: 401, tries: [], error: 0, failover: 0, instance: null },
    { outcome: "unauthorized", status: 403, tries: [], error: 0, failover: 0, instance: null },
    { outcome: "security_error", status: 502, tries: [], error: 1, failover: 0, instance: null },
    { outcome: "rate_limited", status: 429, tries: [], error: 0, failover: 0, instance: null },
    { outcome: "overloaded", status: 503, tries: [], error: 1, failover: 0, instance: null },
    { outcome: "shed", status: 503, tries: [], error: 1, failover: 0, instance: null },
    { outcome: "client_closed", status: 499, tries: [], error: 0, failover: 0, instance: null },
    // A client that left during a failed try: its one try is kept, no retry was made.
    { outcome: "client_closed", status: 499, tries: [failed], error: 0, failover: 0, instance: "i1" },
  ];

  it.each(cases)("$outcome $status: error $error, failover $failover", ({ outcome, status, tries, error, failover, instance }) => {
    const p = named(request({ outcome, status, tries, instance }));
    expect(p.blobs.outcome).toBe(outcome);
    expect(p.doubles.status).toBe(status);
    expect(p.doubles.error).toBe(error);
    expect(p.doubles.failover).toBe(failover);
    expect(p.doubles.attempts).toBe(tries.length);
  });

  it("counts every 5xx as an error, as errorRate does, and nothing else", () => {
    for (const status of [0, 100, 204, 304, 404, 499, 500, 599]) {
      expect(named(request({ status })).doubles.error).toBe(status >= 500 && status <= 599 ? 1 : 0);
    }
  });
});

describe("analyticsPoint: attempts and failover", () => {
  it("counts every try of a failover, and marks it only when the last try succeeded", () => {
    const over = named(request({ outcome: "failed_over", tries: [failed, failed, ok] }));
    expect(over.doubles.attempts).toBe(3);
    expect(over.doubles.failover).toBe(1);
    // Every try failed: retried, not failed over.
    const spent = named(request({ outcome: "upstream_error", status: 502, tries: [failed, failed, failed] }));
    expect(spent.doubles.attempts).toBe(3);
    expect(spent.doubles.failover).toBe(0);
  });

  it("says 0 attempts for a request that made no try", () => {
    expect(named(request({ outcome: "rate_limited", status: 429, tries: [], instance: null })).doubles.attempts).toBe(0);
  });
});

describe("analyticsPoint: what is missing", () => {
  it('writes "" as the instance of a request that reached none', () => {
    expect(named(request({ instance: null, outcome: "no_healthy_instance", status: 503, tries: [] })).blobs.instance).toBe("");
  });

  it('writes "" as the colo outside Cloudflare\'s edge', () => {
    expect(named(request({ colo: null })).blobs.colo).toBe("");
  });

  it("writes 0 ms for a latency a stepped-back clock made negative, and for NaN", () => {
    expect(named(request({ latencyMs: -3 })).doubles.latencyMs).toBe(0);
    expect(named(request({ latencyMs: Number.NaN })).doubles.latencyMs).toBe(0);
    expect(named(request({ latencyMs: 0 })).doubles.latencyMs).toBe(0);
  });
});

describe("analyticsPoint: Analytics Engine's limits", () => {
  it("cuts a long service name to 96 bytes in the index and in blob1 alike", () => {
    const p = analyticsPoint(request({ service: "s".repeat(300) }));
    expect(p.indexes[0]).toBe("s".repeat(MAX_INDEX_BYTES));
    expect(p.blobs[0]).toBe(p.indexes[0]);
  });

  it("cuts long instance, outcome and colo values to their bounds", () => {
    const p = named(request({ instance: "i".repeat(1000), outcome: "o".repeat(1000), colo: "c".repeat(1000) }));
    expect(p.blobs.instance).toBe("i".repeat(MAX_BLOB_BYTES.instance));
    expect(p.blobs.outcome).toBe("o".repeat(MAX_BLOB_BYTES.outcome));
    expect(p.blobs.colo).toBe("c".repeat(MAX_BLOB_BYTES.colo));
  });

  it("cuts by UTF-8 bytes, never inside a character", () => {
    // "é" is 2 bytes, "😀" 4 (two UTF-16 units): 96 bytes hold 48 of the first, 24 of the second.
    expect(analyticsPoint(request({ service: "é".repeat(100) })).indexes[0]).toBe("é".repeat(48));
    expect(analyticsPoint(request({ service: "a" + "😀".repeat(30) })).indexes[0]).toBe("a" + "😀".repeat(23));
  });

  it("keeps the blobs' per-field bounds within the 16 KB a point may carry", () => {
    const sum = Object.values(MAX_BLOB_BYTES).reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(MAX_BLOBS_BYTES);
  });

  it("never throws, and stays within every limit, for any strings", () => {
    const text = fc.string({ unit: "binary", maxLength: 400 });
    fc.assert(
      fc.property(text, fc.option(text), text, fc.option(text), fc.double(), fc.integer({ min: 0, max: 999 }), fc.array(fc.boolean(), { maxLength: 8 }), (service, instance, outcome, colo, latencyMs, status, oks) => {
        const p = analyticsPoint({ service, instance, outcome, colo, latencyMs, status, tries: oks.map((o) => ({ ok: o })) });
        expect(p.indexes).toHaveLength(1);
        expect(bytes(p.indexes[0])).toBeLessThanOrEqual(MAX_INDEX_BYTES);
        expect(p.blobs.length).toBeLessThanOrEqual(20);
        expect(p.doubles.length).toBeLessThanOrEqual(20);
        expect(p.blobs.reduce((n, b) => n + bytes(b), 0)).toBeLessThanOrEqual(MAX_BLOBS_BYTES);
        for (const d of p.doubles) expect(Number.isNaN(d)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });
});

describe("cutUtf8", () => {
  it("returns the longest prefix that fits, never splitting a surrogate pair", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), fc.integer({ min: 0, max: 200 }), (s, max) => {
        const cut = cutUtf8(s, max);
        expect(s.startsWith(cut)).toBe(true);
        expect(bytes(cut)).toBeLessThanOrEqual(max);
        if (cut.length < s.length) {
          // Not between the two halves of one character.
          const last = cut.charCodeAt(cut.length - 1);
          const next = s.charCodeAt(cut.length);
          expect(last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff).toBe(false);
          // The next whole character would not have fitted.
          const width = (s.codePointAt(cut.length) ?? 0) > 0xffff ? 2 : 1;
          expect(bytes(s.slice(0, cut.length + width))).toBeGreaterThan(max);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("returns the string itself when it fits", () => {
    const s = "shop";
    expect(cutUtf8(s, 96)).toBe(s);
    expect(cutUtf8("x".repeat(96), 96)).toBe("x".repeat(96));
  });
});

/**
 * docs/analytics.md's data point table is written by hand, and saved SQL queries are written from it;
 * this keeps it and the layout's tables naming the same positions.
 */
describe("docs/analytics.md, The data point", () => {
  it("lists index1, then every blob and double in the layout's order, under the layout's names", () => {
    const text = readFileSync(new URL("../../../docs/analytics.md", import.meta.url), "utf8");
    const start = text.indexOf("| position | field | value |");
    expect(start, "docs/analytics.md has the data point table").toBeGreaterThan(-1);
    const rows: string[] = [];
    for (const line of text.slice(start).split("\n").slice(2)) {
      if (!line.startsWith("|")) break;
      const [position = "", field = ""] = line.split("|").slice(1, -1).map((c) => c.trim().replaceAll("`", ""));
      rows.push(`${position} ${field}`);
    }
    expect(rows).toEqual([
      "index1 service",
      ...ANALYTICS_BLOBS.map((name, i) => `blob${String(i + 1)} ${name}`),
      ...ANALYTICS_DOUBLES.map((name, i) => `double${String(i + 1)} ${name}`),
    ]);
  });
});
