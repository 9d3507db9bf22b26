import { describe, expect, it } from "vitest";
import { buildSnapshot, snapshotSignature } from "../../../src/core/membership/snapshot-rules.js";
import { registerInstanceSchema } from "../../../src/core/schema/instance.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { membersOf, T0 } from "./pool-fixtures.js";

const routes = { pathPrefixes: ["/shop"] };
const paths = (input: unknown, schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[] }[] } } } = serviceConfigSchema) =>
  (schema.safeParse(input).error?.issues ?? []).map((i) => i.path.map(String).join("."));

describe("service schema: locality and fallbackService", () => {
  it("accepts both modes, defaulting minHealthyFraction to 0.5", () => {
    expect(serviceConfigSchema.parse({ routes, locality: { mode: "proximity" } }).locality).toEqual({ mode: "proximity", minHealthyFraction: 0.5 });
    expect(serviceConfigSchema.parse({ routes, locality: { mode: "zone", key: "colo", minHealthyFraction: 0.25 } }).locality).toEqual({
      mode: "zone",
      key: "colo",
      minHealthyFraction: 0.25,
    });
  });

  it("names the field of a bad locality", () => {
    expect(paths({ routes, locality: { mode: "nearest" } })).toEqual(["locality.mode"]);
    expect(paths({ routes, locality: { mode: "zone" } })).toEqual(["locality.key"]);
    expect(paths({ routes, locality: { mode: "zone", key: "city" } })).toEqual(["locality.key"]);
    expect(paths({ routes, locality: { mode: "proximity", minHealthyFraction: 1.5 } })).toEqual(["locality.minHealthyFraction"]);
    expect(paths({ routes, locality: { mode: "proximity", key: "colo" } })).toEqual(["locality"]);
  });

  it("refuses locality with strict mode, at `locality`, saying why", () => {
    const result = serviceConfigSchema.safeParse({ routes, routing: { mode: "strict" }, locality: { mode: "proximity" } });
    expect(result.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["locality", expect.stringMatching(/request's location/)]]);
  });

  it("takes a fallbackService that is a service name", () => {
    expect(serviceConfigSchema.parse({ routes, fallbackService: "shop-standby" }).fallbackService).toBe("shop-standby");
    expect(paths({ routes, fallbackService: "Shop Standby" })).toEqual(["fallbackService"]);
    expect(paths({ routes, fallbackService: "x".repeat(64) })).toEqual(["fallbackService"]);
  });
});

describe("instance schema: priority and location", () => {
  it("accepts a priority level and a location", () => {
    const input = { url: "https://a.example", priority: 2, location: { latitude: 51.5, longitude: -0.12 } };
    expect(registerInstanceSchema.parse(input)).toEqual({ ...input, weight: 1 });
  });

  it("names the bad field", () => {
    expect(paths({ url: "https://a.example", priority: -1 }, registerInstanceSchema)).toEqual(["priority"]);
    expect(paths({ url: "https://a.example", priority: 1.5 }, registerInstanceSchema)).toEqual(["priority"]);
    expect(paths({ url: "https://a.example", priority: 100 }, registerInstanceSchema)).toEqual(["priority"]);
    expect(paths({ url: "https://a.example", location: { latitude: 91, longitude: 0 } }, registerInstanceSchema)).toEqual(["location.latitude"]);
    expect(paths({ url: "https://a.example", location: { latitude: 0 } }, registerInstanceSchema)).toEqual(["location.longitude"]);
    expect(paths({ url: "https://a.example", location: { latitude: 0, longitude: 0, altitude: 3 } }, registerInstanceSchema)).toEqual(["location"]);
  });
});

describe("snapshot groups", () => {
  it("count active members per priority, zone and location, and only when some member has one", () => {
    expect(buildSnapshot(membersOf([{ healthy: 2, unhealthy: 1 }]), "s", 1, false, T0).groups).toBeUndefined();
    const snap = buildSnapshot(membersOf([{ priority: 1, healthy: 1, unhealthy: 2 }, { zone: "weur", healthy: 1 }]), "s", 1, false, T0);
    expect(snap.groups).toEqual([
      { priority: 1, zone: null, location: null, total: 3 },
      { priority: 0, zone: "weur", location: null, total: 1 },
    ]);
  });

  it("are in the signature: a member turning unhealthy changes the version even when the routable set does not show it", () => {
    const before = buildSnapshot(membersOf([{ priority: 1, healthy: 1 }, { healthy: 1 }]), "s", 1, false, T0);
    const after = buildSnapshot(membersOf([{ priority: 1, healthy: 1, unhealthy: 1 }, { healthy: 1 }]), "s", 1, false, T0);
    expect(before.instances).toEqual(after.instances);
    expect(snapshotSignature(after)).not.toBe(snapshotSignature(before));
  });
});
