import { describe, expect, it } from "vitest";
import { drainMs, leaseAction, nextLeaseEventAt, removalRule, ROUTER_SNAPSHOT_MAX_AGE_MS, type LeaseView, type RemovalRule } from "../../../src/core/lease/lease.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";

const T0 = 1_700_000_000_000;
/** deregisterAfterSeconds 300; a drain of 46 s (the default retry: 3 × 5 s + 31 s). */
const RULE: RemovalRule = { expiredMs: 300_000, drainingMs: 46_000 };

function member(membership: LeaseView["membership"], membershipSince: number, leaseExpiresAt: number): LeaseView {
  return { membership, membershipSince, leaseExpiresAt };
}

describe("drainMs", () => {
  it("is every try of a request picked from the oldest snapshot a router may still use", () => {
    expect(ROUTER_SNAPSHOT_MAX_AGE_MS).toBe(31_000);
    expect(drainMs({ attempts: 3, perTryTimeoutMs: 5_000 })).toBe(46_000);
    expect(drainMs({ attempts: 10, perTryTimeoutMs: 60_000 })).toBe(631_000);
    expect(drainMs({ attempts: 1, perTryTimeoutMs: 50 })).toBe(31_050);
    // retry.requestTimeoutMs bounds all the tries together when it is the shorter.
    expect(drainMs({ attempts: 3, perTryTimeoutMs: 5_000, requestTimeoutMs: 2_000 })).toBe(33_000);
    expect(drainMs({ attempts: 3, perTryTimeoutMs: 5_000, requestTimeoutMs: 60_000 })).toBe(46_000);
  });

  it("comes from a service's retry config; expiry keeps deregisterAfterSeconds", () => {
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: ["/a"] }, retry: { attempts: 2, perTryTimeoutMs: 1_000 }, lease: { deregisterAfterSeconds: 86_400 } });
    expect(removalRule(config)).toEqual({ expiredMs: 86_400_000, drainingMs: 33_000 });
  });
});

describe("leaseAction", () => {
  const active = member("active", T0, T0 + 30_000);

  it("leaves an active member alone while its lease runs", () => {
    expect(leaseAction(active, T0, RULE)).toBe("none");
    expect(leaseAction(active, T0 + 29_999, RULE)).toBe("none");
  });

  it("expires an active member once its lease has passed", () => {
    expect(leaseAction(active, T0 + 30_000, RULE)).toBe("expire");
    expect(leaseAction(active, T0 + 10 * 60_000, RULE)).toBe("expire");
  });

  it("never removes an active member directly, however old", () => {
    expect(leaseAction(active, T0 + 86_400_000, RULE)).toBe("expire");
  });

  it("removes an expired member deregisterAfterSeconds after it expired", () => {
    const since = T0 + 30_000;
    // The lease time no longer matters once the member left `active`.
    const m = member("expired", since, T0);
    expect(leaseAction(m, since, RULE)).toBe("none");
    expect(leaseAction(m, since + 299_999, RULE)).toBe("none");
    expect(leaseAction(m, since + 300_000, RULE)).toBe("remove");
  });

  it("removes a draining member once the drain time has passed, however long deregisterAfterSeconds is", () => {
    const since = T0 + 30_000;
    const m = member("draining", since, T0 + 3_600_000);
    const long: RemovalRule = { expiredMs: 7 * 86_400_000, drainingMs: 46_000 };
    expect(leaseAction(m, since + 45_999, long)).toBe("none");
    expect(leaseAction(m, since + 46_000, long)).toBe("remove");
  });

  it("removes an expired member at once when deregisterAfterSeconds is 0, but still waits out a drain", () => {
    const zero: RemovalRule = { expiredMs: 0, drainingMs: 46_000 };
    expect(leaseAction(member("expired", T0, T0), T0, zero)).toBe("remove");
    expect(leaseAction(member("draining", T0, T0), T0, zero)).toBe("none");
  });
});

describe("nextLeaseEventAt", () => {
  it("is the lease expiry for an active member", () => {
    expect(nextLeaseEventAt(member("active", T0, T0 + 30_000), RULE)).toBe(T0 + 30_000);
  });

  it("is the removal time for a draining or expired member", () => {
    expect(nextLeaseEventAt(member("draining", T0 + 5_000, T0), RULE)).toBe(T0 + 51_000);
    expect(nextLeaseEventAt(member("expired", T0 + 5_000, T0), { ...RULE, expiredMs: 60_000 })).toBe(T0 + 65_000);
  });

  it("is exactly the moment leaseAction changes its answer", () => {
    for (const m of [member("active", T0, T0 + 30_000), member("draining", T0, T0), member("expired", T0 + 1, T0)]) {
      const at = nextLeaseEventAt(m, RULE);
      expect(leaseAction(m, at - 1, RULE)).toBe("none");
      expect(leaseAction(m, at, RULE)).not.toBe("none");
    }
  });
});
