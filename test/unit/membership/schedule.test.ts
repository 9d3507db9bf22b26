import { describe, expect, it } from "vitest";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { nextAlarmAt } from "../../../src/core/membership/schedule.js";
import { member, T0 } from "./fixtures.js";

/** Expired members stay 60 s; draining ones 5 s (the drain time). */
const RULE = { expiredMs: 60_000, drainingMs: 5_000 };

describe("nextAlarmAt", () => {
  it("is one interval from now when no round is scheduled and nothing comes sooner", () => {
    expect(nextAlarmAt([], 0, 10_000, RULE, T0)).toBe(T0 + 10_000);
  });

  it("is the earliest of the next round, a lease expiry or removal, and an ejection end still ahead", () => {
    const a = member("a", { leaseExpiresAt: T0 + 8_000 });
    expect(nextAlarmAt([a], T0 + 9_000, 10_000, RULE, T0)).toBe(T0 + 8_000);
    const expired = member("b", { membership: "expired", membershipSince: T0 - 55_000, leaseExpiresAt: T0 + 99_000 });
    expect(nextAlarmAt([a, expired], T0 + 9_000, 10_000, RULE, T0)).toBe(T0 + 5_000);
    const draining = member("e", { membership: "draining", membershipSince: T0 - 1_000, leaseExpiresAt: T0 + 99_000 });
    expect(nextAlarmAt([a, draining], T0 + 9_000, 10_000, RULE, T0)).toBe(T0 + 4_000);
    const ejected = member("c", { health: { ...initialHealth(), ejectedUntil: T0 + 2_000 } });
    expect(nextAlarmAt([a, ejected], T0 + 9_000, 10_000, RULE, T0)).toBe(T0 + 2_000);
    const ended = member("d", { health: { ...initialHealth(), ejectedUntil: T0 - 1 } });
    expect(nextAlarmAt([a, ended], T0 + 9_000, 10_000, RULE, T0)).toBe(T0 + 8_000);
  });
});
