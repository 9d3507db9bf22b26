import { describe, expect, it } from "vitest";
import { leaseAction, nextLeaseEventAt, type LeaseView } from "../../../src/core/lease/lease.js";

const T0 = 1_700_000_000_000;
const DEREGISTER_AFTER_S = 300;

function member(membership: LeaseView["membership"], membershipSince: number, leaseExpiresAt: number): LeaseView {
  return { membership, membershipSince, leaseExpiresAt };
}

describe("leaseAction", () => {
  const active = member("active", T0, T0 + 30_000);

  it("leaves an active member alone while its lease runs", () => {
    expect(leaseAction(active, T0, DEREGISTER_AFTER_S)).toBe("none");
    expect(leaseAction(active, T0 + 29_999, DEREGISTER_AFTER_S)).toBe("none");
  });

  it("expires an active member once its lease has passed", () => {
    expect(leaseAction(active, T0 + 30_000, DEREGISTER_AFTER_S)).toBe("expire");
    expect(leaseAction(active, T0 + 10 * 60_000, DEREGISTER_AFTER_S)).toBe("expire");
  });

  it("never removes an active member directly, however old", () => {
    expect(leaseAction(active, T0 + 86_400_000, DEREGISTER_AFTER_S)).toBe("expire");
  });

  it.each(["draining", "expired"] as const)("removes a %s member deregisterAfterSeconds after it entered that state", (membership) => {
    const since = T0 + 30_000;
    // The lease time no longer matters once the member left `active`.
    const m = member(membership, since, T0);
    expect(leaseAction(m, since, DEREGISTER_AFTER_S)).toBe("none");
    expect(leaseAction(m, since + 299_999, DEREGISTER_AFTER_S)).toBe("none");
    expect(leaseAction(m, since + 300_000, DEREGISTER_AFTER_S)).toBe("remove");
  });

  it("removes at once when deregisterAfterSeconds is 0", () => {
    expect(leaseAction(member("expired", T0, T0), T0, 0)).toBe("remove");
  });
});

describe("nextLeaseEventAt", () => {
  it("is the lease expiry for an active member", () => {
    expect(nextLeaseEventAt(member("active", T0, T0 + 30_000), DEREGISTER_AFTER_S)).toBe(T0 + 30_000);
  });

  it("is the removal time for a draining or expired member", () => {
    expect(nextLeaseEventAt(member("draining", T0 + 5_000, T0), DEREGISTER_AFTER_S)).toBe(T0 + 305_000);
    expect(nextLeaseEventAt(member("expired", T0 + 5_000, T0), 60)).toBe(T0 + 65_000);
  });

  it("is exactly the moment leaseAction changes its answer", () => {
    for (const m of [member("active", T0, T0 + 30_000), member("draining", T0, T0), member("expired", T0 + 1, T0)]) {
      const at = nextLeaseEventAt(m, DEREGISTER_AFTER_S);
      expect(leaseAction(m, at - 1, DEREGISTER_AFTER_S)).toBe("none");
      expect(leaseAction(m, at, DEREGISTER_AFTER_S)).not.toBe("none");
    }
  });
});
