import { describe, expect, it } from "vitest";
import { applyCheck, applyPassive, initialHealth, type HealthState } from "../../../src/core/health/health-machine.js";
import { healthEvents, leaseExpiredEvent } from "../../../src/core/events/coordinator-events.js";
import { meshEventSchema } from "../../../src/core/events/mesh-event.js";
import type { OutlierConfig } from "../../../src/core/schema/service.js";

const thresholds = { healthyThreshold: 2, unhealthyThreshold: 2 };
const outlier: OutlierConfig = { consecutiveFailures: 3, baseEjectionSeconds: 30, maxEjectionSeconds: 300 };
const T0 = Date.parse("2026-11-30T10:00:00Z");

function valid(events: unknown[]): void {
  for (const e of events) expect(meshEventSchema.safeParse(e).success).toBe(true);
}

describe("healthEvents", () => {
  it("says nothing for a write that only moved counters", () => {
    const before = initialHealth();
    const after = applyCheck(before, { ok: false, detail: "status 503" }, thresholds, T0);
    expect(healthEvents("shop", "i1", before, after, T0)).toEqual([]);
  });

  it("reports the check that made an instance unhealthy, and the one that brought it back", () => {
    let h: HealthState = applyCheck(initialHealth(), { ok: false, detail: "status 503" }, thresholds, T0);
    const down = applyCheck(h, { ok: false, detail: "timeout" }, thresholds, T0 + 1000);
    const wentDown = healthEvents("shop", "i1", h, down, T0 + 1000);
    expect(wentDown).toEqual([
      { v: 1, event: "health_transition", ts: "2026-11-30T10:00:01.000Z", service: "shop", instance: "i1", from: "healthy", to: "unhealthy", reason: "timeout" },
    ]);
    h = applyCheck(down, { ok: true, detail: "status 200" }, thresholds, T0 + 2000);
    const up = applyCheck(h, { ok: true, detail: "status 200" }, thresholds, T0 + 3000);
    const cameBack = healthEvents("shop", "i1", h, up, T0 + 3000);
    expect(cameBack).toMatchObject([{ event: "health_transition", from: "unhealthy", to: "healthy" }]);
    valid([...wentDown, ...cameBack]);
  });

  it("reports one ejection with its end and length, and a second, doubled, one", () => {
    const before = initialHealth();
    const ejected = applyPassive(before, { requests: 3, failures: 3, trailingFailures: 3 }, outlier, T0, true);
    const first = healthEvents("shop", "i1", before, ejected, T0);
    expect(first).toEqual([
      { v: 1, event: "ejection", ts: "2026-11-30T10:00:00.000Z", service: "shop", instance: "i1", ejectedUntil: "2026-11-30T10:00:30.000Z", durationMs: 30_000, ejections: 1 },
    ]);
    // Still ejected: further failures change counters only.
    const during = applyPassive(ejected, { requests: 3, failures: 3, trailingFailures: 3 }, outlier, T0 + 1000, true);
    expect(healthEvents("shop", "i1", ejected, during, T0 + 1000)).toEqual([]);
    const later = T0 + 31_000;
    const again = applyPassive(during, { requests: 3, failures: 3, trailingFailures: 3 }, outlier, later, true);
    const second = healthEvents("shop", "i1", during, again, later);
    expect(second).toMatchObject([{ event: "ejection", durationMs: 60_000, ejections: 2 }]);
    valid([...first, ...second]);
  });

  it("reports no ejection when the last routable instance is spared", () => {
    const before = initialHealth();
    const spared = applyPassive(before, { requests: 3, failures: 3, trailingFailures: 3 }, outlier, T0, false);
    expect(healthEvents("shop", "i1", before, spared, T0)).toEqual([]);
  });
});

describe("leaseExpiredEvent", () => {
  it("carries when the lease ran out and when the coordinator noticed", () => {
    const e = leaseExpiredEvent("shop", "i1", T0, T0 + 2500);
    expect(e).toEqual({ v: 1, event: "lease_expired", ts: "2026-11-30T10:00:02.500Z", service: "shop", instance: "i1", leaseExpiredAt: "2026-11-30T10:00:00.000Z" });
    valid([e]);
  });

  it.each([
    ["ts", { ts: "1" }],
    ["leaseExpiredAt", { leaseExpiredAt: "Dec 1 2026" }],
    ["leaseExpiredAt", { leaseExpiredAt: "2026-11-30T24:00:00.000Z" }],
  ])("the union refuses a lease expiry whose %s is no RFC 3339 time, naming it", (field, over) => {
    const e = { ...leaseExpiredEvent("shop", "i1", T0, T0 + 2500), ...over };
    const r = meshEventSchema.safeParse(e);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual([field]);
  });

  it("the union refuses an ejection whose end is no real time, saying why", () => {
    const e = { v: 1, event: "ejection", ts: "2026-11-30T10:00:00.000Z", service: "shop", instance: "i1", ejectedUntil: "2026-02-29T10:00:30.000Z", durationMs: 30_000, ejections: 1 };
    const r = meshEventSchema.safeParse(e);
    expect(r.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["ejectedUntil", "must name a real date and time: 2026-02 has no day 29"]]);
  });

  it("the union refuses a coordinator event with a field missing, naming it", () => {
    const r = meshEventSchema.safeParse({ v: 1, event: "lease_expired", ts: "2026-11-30T10:00:00.000Z", service: "shop", instance: "i1" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["leaseExpiredAt"]);
  });
});
