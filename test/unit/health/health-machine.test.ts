import { describe, expect, it } from "vitest";
import {
  applyCheck,
  applyPassive,
  checkPasses,
  initialHealth,
  isEjected,
  isRoutable,
  type CheckResult,
  type HealthState,
  type PassiveOutcome,
} from "../../../src/core/health/health-machine.js";
import type { OutlierConfig } from "../../../src/core/schema/service.js";

const T0 = 1_700_000_000_000;
const thresholds = { healthyThreshold: 2, unhealthyThreshold: 3 };
const outlier: OutlierConfig = { consecutiveFailures: 3, baseEjectionSeconds: 30, maxEjectionSeconds: 300 };

const pass: CheckResult = { ok: true, detail: "200" };
const fail: CheckResult = { ok: false, detail: "503" };

/** Applies checks one second apart, starting at T0. */
function runChecks(state: HealthState, results: readonly CheckResult[]): HealthState {
  return results.reduce((s, r, i) => applyCheck(s, r, thresholds, T0 + i * 1000), state);
}

function unhealthy(): HealthState {
  return runChecks(initialHealth(), [fail, fail, fail]);
}

function batch(requests: number, failures: number, trailingFailures: number): PassiveOutcome {
  return { requests, failures, trailingFailures };
}

const allFailed = (n: number): PassiveOutcome => batch(n, n, n);

describe("initialHealth", () => {
  it("starts healthy, not ejected, with clean counters", () => {
    const s = initialHealth();
    expect(s.status).toBe("healthy");
    expect(s.ejectedUntil).toBeNull();
    expect(s.ejections).toBe(0);
    expect(s.consecutiveFailures).toBe(0);
    expect(isRoutable(s, T0)).toBe(true);
  });
});

describe("applyCheck (active checks)", () => {
  it("stays healthy until the unhealthy threshold of consecutive failures is reached", () => {
    const s1 = runChecks(initialHealth(), [fail]);
    const s2 = applyCheck(s1, fail, thresholds, T0 + 1000);
    expect(s1.status).toBe("healthy");
    expect(s2.status).toBe("healthy");
    expect(s2.consecutiveFailures).toBe(2);
    const s3 = applyCheck(s2, fail, thresholds, T0 + 2000);
    expect(s3.status).toBe("unhealthy");
    expect(isRoutable(s3, T0 + 2000)).toBe(false);
  });

  it("becomes healthy again only after the healthy threshold of consecutive successes", () => {
    const down = unhealthy();
    const s1 = applyCheck(down, pass, thresholds, T0 + 10_000);
    expect(s1.status).toBe("unhealthy");
    expect(s1.consecutiveSuccesses).toBe(1);
    const s2 = applyCheck(s1, pass, thresholds, T0 + 11_000);
    expect(s2.status).toBe("healthy");
    expect(isRoutable(s2, T0 + 11_000)).toBe(true);
  });

  it("a success between failures resets the failure count", () => {
    const s = runChecks(initialHealth(), [fail, fail, pass, fail, fail]);
    expect(s.status).toBe("healthy");
    expect(s.consecutiveFailures).toBe(2);
    expect(applyCheck(s, fail, thresholds, T0 + 99_000).status).toBe("unhealthy");
  });

  it("a failure between successes resets the success count while unhealthy", () => {
    const s = runChecks(unhealthy(), [pass, fail, pass]);
    expect(s.status).toBe("unhealthy");
    expect(s.consecutiveSuccesses).toBe(1);
    expect(applyCheck(s, pass, thresholds, T0 + 99_000).status).toBe("healthy");
  });

  it("records when and what the last check saw", () => {
    const s = applyCheck(initialHealth(), { ok: false, detail: "timeout after 2000ms" }, thresholds, T0 + 42);
    expect(s.lastCheckAt).toBe(T0 + 42);
    expect(s.lastCheckResult).toBe("timeout after 2000ms");
  });

  it("does not mutate the state it is given", () => {
    const before = initialHealth();
    const snapshot = structuredClone(before);
    applyCheck(before, fail, thresholds, T0);
    expect(before).toEqual(snapshot);
  });

  it("clears a passive ejection when the host recovers through active checks", () => {
    const ejected = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    expect(isEjected(ejected, T0)).toBe(true);
    const down = runChecks(ejected, [fail, fail, fail]);
    const up = runChecks(down, [pass, pass]);
    expect(up.status).toBe("healthy");
    // Ended at the recovery (runChecks restarts at T0, so the second pass is at T0 + 1 s),
    // not erased: forgiveness of past ejections counts from it.
    expect(up.ejectedUntil).toBe(T0 + 1_000);
    expect(isEjected(up, T0 + 1_000)).toBe(false);
    expect(up.passiveFailures).toBe(0);
    expect(isRoutable(up, T0 + 5_000)).toBe(true);
  });

  it("a passing check on an already healthy host leaves an ejection in place", () => {
    const ejected = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    const s = applyCheck(ejected, pass, thresholds, T0 + 1000);
    expect(s.ejectedUntil).toBe(ejected.ejectedUntil);
    expect(isRoutable(s, T0 + 1000)).toBe(false);
  });
});

describe("applyPassive (outlier ejection)", () => {
  it("does not eject below the consecutive-failure threshold", () => {
    const s = applyPassive(initialHealth(), allFailed(2), outlier, T0, true);
    expect(s.passiveFailures).toBe(2);
    expect(isEjected(s, T0)).toBe(false);
  });

  it("ejects once consecutive failures reach the threshold, for baseEjectionSeconds", () => {
    const s = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    expect(s.ejectedUntil).toBe(T0 + 30_000);
    expect(s.ejections).toBe(1);
    expect(s.passiveFailures).toBe(0);
    expect(isEjected(s, T0 + 29_999)).toBe(true);
    expect(isRoutable(s, T0 + 29_999)).toBe(false);
    expect(isEjected(s, T0 + 30_000)).toBe(false);
    expect(isRoutable(s, T0 + 30_000)).toBe(true);
  });

  it("counts consecutive failures across all-failed batches", () => {
    const s1 = applyPassive(initialHealth(), allFailed(2), outlier, T0, true);
    expect(isEjected(s1, T0)).toBe(false);
    const s2 = applyPassive(s1, allFailed(1), outlier, T0 + 1000, true);
    expect(isEjected(s2, T0 + 1000)).toBe(true);
  });

  it("a success inside a batch resets the run to the batch's trailing failures", () => {
    const s1 = applyPassive(initialHealth(), allFailed(2), outlier, T0, true);
    // fail fail | ok fail: the run is 1, not 2 + 2 - the success broke it.
    const s2 = applyPassive(s1, batch(4, 3, 1), outlier, T0 + 1000, true);
    expect(s2.passiveFailures).toBe(1);
    expect(isEjected(s2, T0 + 1000)).toBe(false);
    const s3 = applyPassive(s2, batch(5, 2, 0), outlier, T0 + 2000, true);
    expect(s3.passiveFailures).toBe(0);
  });

  // A try whose body broke after a success was reported is folded in as a failure only (core/snapshot.ts, afterAnswer).
  it("counts a batch of such late failures alone as all failed, continuing the run", () => {
    const s1 = applyPassive(initialHealth(), allFailed(2), outlier, T0, true);
    const s2 = applyPassive(s1, batch(0, 1, 1), outlier, T0 + 1000, true);
    expect(s2.passiveFailures).toBe(0);
    expect(isEjected(s2, T0 + 1000)).toBe(true);
    // A late failure followed by a success still ends the run.
    const s3 = applyPassive(s1, batch(1, 1, 0), outlier, T0 + 1000, true);
    expect(s3.passiveFailures).toBe(0);
    expect(isEjected(s3, T0 + 1000)).toBe(false);
  });

  it("ejects on the trailing failures of a mixed batch when they reach the threshold", () => {
    const s = applyPassive(initialHealth(), batch(10, 4, 3), outlier, T0, true);
    expect(isEjected(s, T0)).toBe(true);
  });

  it("each ejection lasts twice as long as the previous, capped at maxEjectionSeconds", () => {
    let s = initialHealth();
    let now = T0;
    const durations: number[] = [];
    for (let i = 0; i < 7; i++) {
      s = applyPassive(s, allFailed(3), outlier, now, true);
      const until = s.ejectedUntil ?? Number.NaN;
      durations.push((until - now) / 1000);
      expect(s.ejections).toBe(i + 1);
      now = until; // the ejection has just run out
    }
    expect(durations).toEqual([30, 60, 120, 240, 300, 300, 300]);
  });

  it("does not extend an ejection that is still running", () => {
    const s1 = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    const s2 = applyPassive(s1, allFailed(5), outlier, T0 + 10_000, true);
    expect(s2.ejectedUntil).toBe(s1.ejectedUntil);
    expect(s2.ejections).toBe(1);
  });

  it("never ejects when canEject is false (the last routable instance)", () => {
    let s = initialHealth();
    for (let i = 0; i < 5; i++) s = applyPassive(s, allFailed(10), outlier, T0 + i * 1000, false);
    expect(s.ejectedUntil).toBeNull();
    expect(s.ejections).toBe(0);
    expect(isRoutable(s, T0 + 5000)).toBe(true);
    // The run was still counted, so the host goes as soon as ejecting is allowed.
    expect(s.passiveFailures).toBe(50);
    expect(isEjected(applyPassive(s, allFailed(1), outlier, T0 + 6000, true), T0 + 6000)).toBe(true);
  });

  it("forgives one past ejection per clean batch once the last one is over maxEjectionSeconds old", () => {
    let s = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    s = applyPassive(s, allFailed(3), outlier, (s.ejectedUntil ?? 0) + 1, true);
    expect(s.ejections).toBe(2);
    const end = s.ejectedUntil ?? 0;
    // Soon after the ejection, a clean batch forgives nothing...
    expect(applyPassive(s, batch(5, 0, 0), outlier, end + 1000, true).ejections).toBe(2);
    // ...long after, each clean batch forgives one, down to zero.
    const later = end + 301_000;
    const once = applyPassive(s, batch(5, 0, 0), outlier, later, true);
    expect(once.ejections).toBe(1);
    expect(applyPassive(once, batch(5, 0, 0), outlier, later + 1, true).ejections).toBe(0);
    // A batch with failures forgives nothing.
    expect(applyPassive(s, batch(5, 1, 0), outlier, later, true).ejections).toBe(2);
  });

  it("still forgives past ejections after active checks brought the host back", () => {
    // Ejected twice, then down by active checks, then recovered: the recovery ends any
    // ejection, but the ejection history must still age out like any other.
    let s = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    s = applyPassive(s, allFailed(3), outlier, (s.ejectedUntil ?? 0) + 1, true);
    const end = s.ejectedUntil ?? 0;
    const checks = [fail, fail, fail, pass, pass];
    s = checks.reduce((h, r, i) => applyCheck(h, r, thresholds, end + i * 1000), s);
    expect(s.status).toBe("healthy");
    expect(isEjected(s, end + 5000)).toBe(false);
    const later = end + 400_000;
    const once = applyPassive(s, batch(5, 0, 0), outlier, later, true);
    expect(once.ejections).toBe(1);
    expect(applyPassive(once, batch(5, 0, 0), outlier, later + 1, true).ejections).toBe(0);
  });

  it("a recovery in the middle of an ejection ends it, and the forgiveness clock starts then", () => {
    let s = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    s = runChecks(s, [fail, fail, fail, pass, pass]);
    const recovered = T0 + 4000;
    expect(isRoutable(s, recovered)).toBe(true);
    expect(applyPassive(s, batch(5, 0, 0), outlier, recovered + 300_000, true).ejections).toBe(1);
    expect(applyPassive(s, batch(5, 0, 0), outlier, recovered + 300_001, true).ejections).toBe(0);
  });

  it("does not change active-check status", () => {
    const s = applyPassive(initialHealth(), allFailed(3), outlier, T0, true);
    expect(s.status).toBe("healthy");
  });
});

describe("isEjected / isRoutable", () => {
  it("an unhealthy host is not routable even when not ejected", () => {
    const s = unhealthy();
    expect(isEjected(s, T0 + 60_000)).toBe(false);
    expect(isRoutable(s, T0 + 60_000)).toBe(false);
  });

  it("an ejection ends exactly at ejectedUntil", () => {
    const s: HealthState = { ...initialHealth(), ejectedUntil: T0 + 5000 };
    expect(isEjected(s, T0 + 4999)).toBe(true);
    expect(isEjected(s, T0 + 5000)).toBe(false);
    expect(isRoutable(s, T0 + 4999)).toBe(false);
    expect(isRoutable(s, T0 + 5000)).toBe(true);
  });
});

describe("checkPasses", () => {
  it("passes only the configured statuses", () => {
    expect(checkPasses(200, { expectedStatuses: [200] })).toBe(true);
    expect(checkPasses(204, { expectedStatuses: [200] })).toBe(false);
    expect(checkPasses(204, { expectedStatuses: [200, 204] })).toBe(true);
    expect(checkPasses(503, { expectedStatuses: [200, 204] })).toBe(false);
  });
});
