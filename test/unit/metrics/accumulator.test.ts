import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_OUTCOMES, MetricsAccumulator, OTHER_OUTCOME } from "../../../src/core/metrics/accumulator.js";
import { histogramCount } from "../../../src/core/metrics/histogram.js";
import { emptyRecord, errorCount, mergeRecord, parseRecord, requestCount, type MetricsRecord } from "../../../src/core/metrics/record.js";

const ok = (id: string, ms: number) => ({ instanceId: id, ok: true, latencyMs: ms });
const bad = (id: string, ms: number) => ({ instanceId: id, ok: false, latencyMs: ms });

function byInstance(acc: MetricsAccumulator, service: string): Map<string, MetricsRecord> {
  return new Map((acc.take(service)?.instances ?? []).map((i) => [i.instance, i.record]));
}

describe("MetricsAccumulator", () => {
  it("counts a request under the instance that answered last, each try's latency under the instance tried", () => {
    const acc = new MetricsAccumulator();
    acc.recordRequest("shop", "b", "failed_over", 200, 30, [bad("a", 5), ok("b", 20)]);
    acc.recordRequest("shop", "a", "ok", 204, 3, [ok("a", 2)]);
    acc.recordRequest("shop", null, "no_healthy_instance", 503, 0, []);
    const got = byInstance(acc, "shop");
    expect(got.get("b")?.requests).toEqual({ "failed_over 2xx": 1 });
    expect(got.get("b")).toMatchObject({ retries: 1, failovers: 1 });
    expect(histogramCount(got.get("b")?.upstream ?? emptyRecord().upstream)).toBe(1);
    expect(got.get("a")?.requests).toEqual({ "ok 2xx": 1 });
    // a: its own request's try and b's request's failed first try.
    expect(histogramCount(got.get("a")?.upstream ?? emptyRecord().upstream)).toBe(2);
    expect(got.get("a")?.upstream.sumMs).toBe(7);
    expect(got.get("")?.requests).toEqual({ "no_healthy_instance 5xx": 1 });
    expect(errorCount(got.get("") ?? emptyRecord())).toBe(1);
  });

  it("counts a request whose every try failed as retries, not a failover", () => {
    const acc = new MetricsAccumulator();
    acc.recordRequest("shop", "b", "upstream_error", 502, 40, [bad("a", 5), bad("b", 6), bad("c", 7)]);
    expect(byInstance(acc, "shop").get("b")).toMatchObject({ retries: 2, failovers: 0, requests: { "upstream_error 5xx": 1 } });
  });

  it("counts the tries a service made before a fallback hop as its tries and retries, and no request of its own", () => {
    const acc = new MetricsAccumulator();
    acc.recordHandedOn("shop", [bad("a", 2000), bad("b", 5)]);
    acc.recordHandedOn("shop", []);
    const got = byInstance(acc, "shop");
    expect(got.get("b")).toMatchObject({ retries: 1, failovers: 0, requests: {} });
    expect(got.get("a")).toMatchObject({ retries: 0, requests: {} });
    expect(histogramCount(got.get("a")?.upstream ?? emptyRecord().upstream)).toBe(1);
    expect(got.get("a")?.upstream.sumMs).toBe(2000);
    expect(histogramCount(got.get("b")?.client ?? emptyRecord().client)).toBe(0);
  });

  it("takes a delta once: the next take holds only what came after, and a service with nothing new gives null", () => {
    const acc = new MetricsAccumulator();
    acc.recordRequest("shop", "a", "ok", 200, 1, [ok("a", 1)]);
    expect(requestCount(byInstance(acc, "shop").get("a") ?? emptyRecord())).toBe(1);
    expect(acc.take("shop")).toBeNull();
    acc.recordRequest("shop", "a", "ok", 200, 1, [ok("a", 1)]);
    acc.recordRequest("cart", "x", "ok", 200, 1, [ok("x", 1)]);
    expect(requestCount(byInstance(acc, "shop").get("a") ?? emptyRecord())).toBe(1);
    expect(acc.has("cart")).toBe(true);
    expect(acc.take("nobody")).toBeNull();
  });

  it("takes any outcome name, bounded: past MAX_OUTCOMES distinct names, or an over-long one, they count as 'other'", () => {
    const acc = new MetricsAccumulator();
    for (let i = 0; i < MAX_OUTCOMES + 10; i++) acc.recordRequest("shop", "a", `outcome_${String(i)}`, 429, 1, []);
    acc.recordRequest("shop", "a", "x".repeat(200), 429, 1, []);
    const r = byInstance(acc, "shop").get("a") ?? emptyRecord();
    expect(Object.keys(r.requests)).toHaveLength(MAX_OUTCOMES);
    expect(r.requests[`${OTHER_OUTCOME} 4xx`]).toBe(12);
    expect(requestCount(r)).toBe(MAX_OUTCOMES + 11);
    expect(parseRecord(r)).not.toBeNull();
  });

  it("sums, over any split into takes, to the same totals as one take (deltas merge by addition)", () => {
    const request = fc.record({
      instance: fc.constantFrom("a", "b", null),
      outcome: fc.constantFrom("ok", "failed_over", "upstream_error", "rate_limited"),
      status: fc.constantFrom(0, 200, 404, 429, 503),
      ms: fc.integer({ min: 0, max: 100_000 }),
      tries: fc.array(fc.record({ instanceId: fc.constantFrom("a", "b", "c"), ok: fc.boolean(), latencyMs: fc.integer({ min: 0, max: 9000 }) }), { maxLength: 3 }),
      takeAfter: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(request, { maxLength: 60 }), (reqs) => {
        const once = new MetricsAccumulator();
        const split = new MetricsAccumulator();
        const merged = new Map<string, MetricsRecord>();
        const fold = (acc: MetricsAccumulator) => {
          for (const { instance, record } of acc.take("s")?.instances ?? []) merged.set(instance, mergeRecord(merged.get(instance) ?? emptyRecord(), record));
        };
        for (const r of reqs) {
          once.recordRequest("s", r.instance, r.outcome, r.status, r.ms, r.tries);
          split.recordRequest("s", r.instance, r.outcome, r.status, r.ms, r.tries);
          if (r.takeAfter) fold(split);
        }
        fold(split);
        const whole = byInstance(once, "s");
        expect(new Set(merged.keys())).toEqual(new Set(whole.keys()));
        for (const [id, r] of whole) expect(merged.get(id)).toEqual(r);
      }),
    );
  });
});

describe("parseRecord", () => {
  it("refuses negative or non-finite counts, a wrong bucket layout and too many keys", () => {
    const good = emptyRecord();
    good.requests["ok 2xx"] = 1;
    expect(parseRecord(JSON.parse(JSON.stringify(good)))).toEqual(good);
    expect(parseRecord({ ...good, retries: -1 })).toBeNull();
    expect(parseRecord({ ...good, failovers: Infinity })).toBeNull();
    expect(parseRecord({ ...good, client: { counts: [1, 2], sumMs: 0 } })).toBeNull();
    expect(parseRecord({ ...good, requests: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`o${String(i)} 2xx`, 1])) })).toBeNull();
    expect(parseRecord("nope")).toBeNull();
  });
});
