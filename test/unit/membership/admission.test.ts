import { describe, expect, it } from "vitest";
import { admitNew, MAX_ACTIVE_INSTANCES, MAX_MEMBERS } from "../../../src/core/membership/admission.js";
import type { Member } from "../../../src/core/membership/member.js";
import { member, T0 } from "./fixtures.js";

const RULE = { expiredMs: 300_000, drainingMs: 46_000 };

function many(n: number, prefix: string, overrides: Partial<Member> = {}): Member[] {
  return Array.from({ length: n }, (_, i) => member(`${prefix}${i}`, overrides));
}

describe("admitNew", () => {
  it("admits while both bounds have room", () => {
    expect(admitNew(many(10, "a"), 0, RULE, T0)).toEqual({ ok: true, evict: null });
    expect(admitNew(many(MAX_MEMBERS - 1, "d", { membership: "draining" }), 0, RULE, T0)).toEqual({ ok: true, evict: null });
  });

  it("refuses past MAX_ACTIVE_INSTANCES active members, counting registrations still in flight", () => {
    expect(admitNew(many(MAX_ACTIVE_INSTANCES, "a"), 0, RULE, T0)).toEqual({ ok: false, error: "too_many_instances" });
    expect(admitNew(many(MAX_ACTIVE_INSTANCES - 1, "a"), 1, RULE, T0)).toEqual({ ok: false, error: "too_many_instances" });
    expect(admitNew(many(MAX_ACTIVE_INSTANCES - 1, "a"), 0, RULE, T0)).toEqual({ ok: true, evict: null });
  });

  it("when the table is full, evicts the expired member that expired first", () => {
    const expired = [
      member("late", { membership: "expired", membershipSince: T0 - 1_000 }),
      member("early", { membership: "expired", membershipSince: T0 - 9_000 }),
    ];
    const table = [...many(MAX_ACTIVE_INSTANCES - 1, "a"), ...many(MAX_MEMBERS - MAX_ACTIVE_INSTANCES - 1, "d", { membership: "draining", membershipSince: T0 }), ...expired];
    expect(table).toHaveLength(MAX_MEMBERS);
    expect(admitNew(table, 0, RULE, T0)).toEqual({ ok: true, evict: "early" });
  });

  it("evicts a draining member only once its drain has ended", () => {
    const done = member("done", { membership: "draining", membershipSince: T0 - 46_000 });
    const table = [...many(MAX_MEMBERS - 1, "d", { membership: "draining", membershipSince: T0 - 1_000 }), done];
    expect(admitNew(table, 0, RULE, T0)).toEqual({ ok: true, evict: "done" });
  });

  it("refuses with the wait until the first drain ends when nothing can be evicted", () => {
    const table = [
      ...many(MAX_MEMBERS - 1, "d", { membership: "draining", membershipSince: T0 - 1_000 }),
      member("first", { membership: "draining", membershipSince: T0 - 40_000 }),
    ];
    expect(admitNew(table, 0, RULE, T0)).toEqual({ ok: false, error: "too_many_members", retryAfterMs: 6_000 });
  });

  it("counts in-flight registrations against the total as well", () => {
    const table = many(MAX_MEMBERS - 5, "d", { membership: "draining", membershipSince: T0 });
    expect(admitNew(table, 4, RULE, T0)).toEqual({ ok: true, evict: null });
    expect(admitNew(table, 5, RULE, T0)).toEqual({ ok: false, error: "too_many_members", retryAfterMs: 46_000 });
  });
});
