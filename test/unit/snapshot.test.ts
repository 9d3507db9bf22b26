import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldOutcome, instanceIdFor, type InstanceReport, type TryOutcome } from "../../src/core/snapshot.js";
import { defined } from "./defined.js";

/** A whole list folded at once: the reports one flush carries for these outcomes. */
function aggregateOutcomes(outcomes: readonly TryOutcome[]): InstanceReport[] {
  const byId = new Map<string, InstanceReport>();
  for (const o of outcomes) foldOutcome(byId, o);
  return [...byId.values()];
}

const ok = (instanceId: string, latencyMs = 10): TryOutcome => ({ instanceId, ok: true, status: 200, latencyMs });
const failed = (instanceId: string, failure?: TryOutcome["failure"], latencyMs = 10): TryOutcome =>
  failure === undefined ? { instanceId, ok: false, latencyMs } : { instanceId, ok: false, failure, latencyMs };

function reportFor(outcomes: readonly TryOutcome[], id: string) {
  return defined(
    aggregateOutcomes(outcomes).find((r) => r.instanceId === id),
    `report for ${id}`,
  );
}

describe("foldOutcome", () => {
  it("folding request by request into one running map gives the reports of aggregating every outcome at once, and the direct counts", () => {
    const outcome = fc.record({
      instanceId: fc.constantFrom("a", "b", "c"),
      ok: fc.boolean(),
      failure: fc.option(fc.constantFrom("reset" as const, "timeout" as const, "connect-failure" as const, "status" as const), { nil: undefined }),
      latencyMs: fc.nat(10_000),
    });
    fc.assert(
      fc.property(fc.array(fc.array(outcome, { maxLength: 4 }), { maxLength: 40 }), (requests) => {
        const outcomes: TryOutcome[] = requests.flat().map((o) => (o.ok ? { instanceId: o.instanceId, ok: true, latencyMs: o.latencyMs } : o));
        const running = new Map<string, InstanceReport>();
        for (const request of requests) for (const o of request) foldOutcome(running, o.ok ? { instanceId: o.instanceId, ok: true, latencyMs: o.latencyMs } : o);
        expect([...running.values()]).toEqual(aggregateOutcomes(outcomes));
        // And both say what the outcomes say, counted directly, per instance in first-seen order.
        const ids = [...new Set(outcomes.map((o) => o.instanceId))];
        const expected = ids.map((instanceId) => {
          const mine = outcomes.filter((o) => o.instanceId === instanceId);
          const lastOk = mine.map((o) => o.ok).lastIndexOf(true);
          const lastFailed = mine.filter((o) => !o.ok).at(-1);
          return {
            instanceId,
            requests: mine.length,
            failures: mine.filter((o) => !o.ok).length,
            trailingFailures: mine.length - 1 - lastOk,
            latencyMsTotal: mine.reduce((t, o) => t + o.latencyMs, 0),
            lastFailure: lastFailed === undefined ? null : (lastFailed.failure ?? "status"),
          };
        });
        expect([...running.values()]).toEqual(expected);
      }),
    );
  });
});

describe("foldOutcome, afterAnswer", () => {
  it("turns the try's reported success into a failure: one try, one failure, its latency once", () => {
    const late: TryOutcome = { instanceId: "a", ok: false, failure: "reset", latencyMs: 10, afterAnswer: true };
    expect(reportFor([ok("a"), late], "a")).toEqual({ instanceId: "a", requests: 1, failures: 1, trailingFailures: 1, latencyMsTotal: 10, lastFailure: "reset" });
    // Flushed apart from its success: a failure with no request of its own.
    expect(reportFor([late], "a")).toMatchObject({ requests: 0, failures: 1, trailingFailures: 1, latencyMsTotal: 0 });
  });
});

describe("aggregateOutcomes", () => {
  it("returns nothing for no outcomes", () => {
    expect(aggregateOutcomes([])).toEqual([]);
  });

  it("folds outcomes into one report per instance, in first-seen order", () => {
    const reports = aggregateOutcomes([ok("b", 5), failed("a", "timeout", 100), ok("b", 7), ok("a", 3)]);
    expect(reports.map((r) => r.instanceId)).toEqual(["b", "a"]);
    expect(reports[0]).toEqual({ instanceId: "b", requests: 2, failures: 0, trailingFailures: 0, latencyMsTotal: 12, lastFailure: null });
    expect(reports[1]).toEqual({ instanceId: "a", requests: 2, failures: 1, trailingFailures: 0, latencyMsTotal: 103, lastFailure: "timeout" });
  });

  it("counts trailing failures, reset by a success", () => {
    const outcomes = [failed("a", "reset"), failed("a", "reset"), ok("a"), failed("a", "timeout"), failed("a", "connect-failure")];
    const r = reportFor(outcomes, "a");
    expect(r.requests).toBe(5);
    expect(r.failures).toBe(4);
    expect(r.trailingFailures).toBe(2);
  });

  it("trailing failures equal failures when nothing succeeded", () => {
    const r = reportFor([failed("a", "timeout"), failed("a", "timeout"), failed("a", "timeout")], "a");
    expect(r.trailingFailures).toBe(3);
    expect(r.failures).toBe(3);
  });

  it("keeps each instance's run separate when outcomes interleave", () => {
    const outcomes = [failed("a", "timeout"), ok("b"), failed("a", "timeout"), failed("b", "reset")];
    expect(reportFor(outcomes, "a").trailingFailures).toBe(2);
    expect(reportFor(outcomes, "b").trailingFailures).toBe(1);
  });

  it("remembers the kind of the most recent failure, even after a success", () => {
    expect(reportFor([failed("a", "timeout"), failed("a", "connect-failure")], "a").lastFailure).toBe("connect-failure");
    expect(reportFor([failed("a", "reset"), ok("a")], "a").lastFailure).toBe("reset");
  });

  it("records a failure without a kind as a status failure", () => {
    expect(reportFor([{ instanceId: "a", ok: false, status: 503, latencyMs: 1 }], "a").lastFailure).toBe("status");
  });
});

describe("instanceIdFor", () => {
  it("is 16 lowercase hex digits", async () => {
    expect(await instanceIdFor("https://origin.example.com")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("is deterministic for the same URL", async () => {
    const url = "https://origin.example.com/base";
    expect(await instanceIdFor(url)).toBe(await instanceIdFor(url));
  });

  it("is the first 8 bytes of the URL's SHA-256", async () => {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(await instanceIdFor("abc")).toBe("ba7816bf8f01cfea");
  });

  it("differs for different URLs", async () => {
    const urls = ["https://a.example.com", "https://b.example.com", "https://a.example.com:8443", "https://a.example.com/x", "http://a.example.com"];
    const ids = await Promise.all(urls.map((u) => instanceIdFor(u)));
    expect(new Set(ids).size).toBe(urls.length);
  });
});
