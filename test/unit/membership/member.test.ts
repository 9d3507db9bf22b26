import { describe, expect, it } from "vitest";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { registerMember, sameHealth, toSnapshotInstance, type RegisterRequest } from "../../../src/core/membership/member.js";
import { member, T0 } from "./fixtures.js";

const req = (overrides: Partial<RegisterRequest> = {}): RegisterRequest => ({
  url: "http://a.example:8080",
  weight: 1,
  zone: null,
  metadata: null,
  ttlSeconds: null,
  ...overrides,
});

describe("registerMember", () => {
  it("creates an active, healthy member with a lease and zeroed counters, and asks for a mirror write", () => {
    const { member: m, mirrorChanged } = registerMember(undefined, "a", req({ zone: "eu", metadata: { v: "1" } }), T0, 30_000);
    expect(m).toEqual(member("a", { zone: "eu", metadata: { v: "1" } }));
    expect(mirrorChanged).toBe(true);
  });

  it("renews a repeat registration without a mirror write, keeping health, counters and registeredAt", () => {
    const existing = member("a", { requests: 7, health: { ...initialHealth(), consecutiveSuccesses: 4 } });
    const { member: m, mirrorChanged } = registerMember(existing, "a", req({ url: existing.url, metadata: { v: "2" } }), T0 + 5_000, 10_000);
    expect(mirrorChanged).toBe(false);
    expect(m.leaseExpiresAt).toBe(T0 + 15_000);
    expect(m.registeredAt).toBe(T0);
    expect(m.requests).toBe(7);
    expect(m.health.consecutiveSuccesses).toBe(4);
    expect(m.metadata).toEqual({ v: "2" });
    // The caller's object is not changed in place.
    expect(existing.metadata).toBeNull();
  });

  it("asks for a mirror write when the weight or the zone changes", () => {
    const existing = member("a");
    expect(registerMember(existing, "a", req({ weight: 3 }), T0, 1).mirrorChanged).toBe(true);
    expect(registerMember(existing, "a", req({ zone: "us" }), T0, 1).mirrorChanged).toBe(true);
  });

  it("asks for a mirror write when the location changes, and not when it is the same point again", () => {
    const at = { latitude: 51.5, longitude: -0.12 };
    const placed = member("a", { location: at });
    expect(registerMember(placed, "a", req({ location: { latitude: 51.5, longitude: -0.12 } }), T0, 1).mirrorChanged).toBe(false);
    expect(registerMember(placed, "a", req({ location: { latitude: 40.7, longitude: -0.12 } }), T0, 1).mirrorChanged).toBe(true);
    expect(registerMember(placed, "a", req(), T0, 1).mirrorChanged).toBe(true);
    expect(registerMember(member("a"), "a", req({ location: at }), T0, 1).mirrorChanged).toBe(true);
  });

  it("starts a member back from expiry or a drain over: active, fresh health, new membershipSince", () => {
    const ejected = { ...initialHealth(), ejectedUntil: T0 + 60_000, ejections: 2 };
    for (const membership of ["expired", "draining"] as const) {
      const existing = member("a", { membership, membershipSince: T0 - 1, health: ejected });
      const { member: m, mirrorChanged } = registerMember(existing, "a", req(), T0, 1_000);
      expect(m.membership).toBe("active");
      expect(m.membershipSince).toBe(T0);
      expect(m.health).toEqual(initialHealth());
      expect(mirrorChanged).toBe(true);
    }
  });
});

describe("toSnapshotInstance", () => {
  it("carries exactly what a router needs", () => {
    expect(toSnapshotInstance(member("a", { weight: 2, zone: "eu", metadata: { x: "y" } }))).toEqual({
      id: "a",
      url: "http://a.example:8080",
      weight: 2,
      zone: "eu",
    });
  });

  it("adds the split's labels (own keys only) and healthySince when the service's policies ask for them", () => {
    const m = member("a", { metadata: { version: "v2", team: "x" }, membershipSince: T0 + 5 });
    expect(toSnapshotInstance(m, { labelKeys: ["version", "constructor", "tier"], healthySince: true })).toEqual({
      id: "a",
      url: "http://a.example:8080",
      weight: 1,
      zone: null,
      labels: { version: "v2" },
      healthySince: T0 + 5,
    });
    const recovered = member("b", { health: { ...initialHealth(), healthySince: T0 + 9 } });
    expect(toSnapshotInstance(recovered, { labelKeys: null, healthySince: true }).healthySince).toBe(T0 + 9);
  });
});

describe("sameHealth", () => {
  it("is true for equal states and false when any one field differs", () => {
    const base = initialHealth();
    expect(sameHealth(base, { ...base })).toBe(true);
    const changes = {
      status: "unhealthy",
      consecutiveSuccesses: 1,
      consecutiveFailures: 1,
      lastCheckAt: T0,
      lastCheckResult: "HTTP 200",
      passiveFailures: 1,
      ejectedUntil: T0,
      ejections: 1,
      healthySince: T0,
    } satisfies Required<typeof base>;
    for (const key of Object.keys(changes) as (keyof typeof base)[]) {
      expect(sameHealth(base, { ...base, [key]: changes[key] }), key).toBe(false);
    }
  });
});
