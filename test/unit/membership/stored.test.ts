import { describe, expect, it } from "vitest";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { decodeMemberRow, parseHealth, parseMetadata, parseStoredConfig, parseStoredCredentials, type StoredRow } from "../../../src/core/membership/stored.js";
import { credentialsOf } from "../../../src/core/schema/credentials.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { member, T0 } from "./fixtures.js";

function row(overrides: StoredRow = {}): StoredRow {
  return {
    id: "c268f781ab94296e",
    url: "http://10.0.0.7:8080",
    weight: 1,
    zone: "eu",
    metadata: '{"version":"1.4.2"}',
    ttl_seconds: null,
    registered_at: T0,
    lease_expires_at: T0 + 30_000,
    membership: "active",
    membership_since: T0,
    health: JSON.stringify(initialHealth()),
    requests: 12,
    failures: 1,
    latency_ms_total: 54.5,
    ...overrides,
  };
}

describe("parseHealth", () => {
  it("reads back what the coordinator writes", () => {
    const h = { ...initialHealth(), status: "unhealthy" as const, lastCheckAt: T0, lastCheckResult: "timeout", ejectedUntil: T0 + 1, ejections: 2 };
    expect(parseHealth(JSON.stringify(h))).toEqual({ ok: true, value: h });
  });

  it("names what is wrong with text that is not a health state", () => {
    expect(parseHealth("{not json")).toEqual({ ok: false, reason: "health: not JSON" });
    expect(parseHealth("[]")).toEqual({ ok: false, reason: "health: not a health state" });
    expect(parseHealth(JSON.stringify({ ...initialHealth(), status: "ok" }))).toMatchObject({ ok: false });
    expect(parseHealth(JSON.stringify({ ...initialHealth(), ejections: "2" }))).toMatchObject({ ok: false });
  });
});

describe("parseMetadata", () => {
  it("accepts null and an object of strings", () => {
    expect(parseMetadata(null)).toEqual({ ok: true, value: null });
    expect(parseMetadata('{"a":"b"}')).toEqual({ ok: true, value: { a: "b" } });
  });

  it("refuses non-JSON and objects with non-string values", () => {
    expect(parseMetadata("{")).toMatchObject({ ok: false });
    expect(parseMetadata('{"a":1}')).toMatchObject({ ok: false });
    expect(parseMetadata('"a"')).toMatchObject({ ok: false });
  });
});

describe("parseStoredConfig", () => {
  it("accepts a resolved config and refuses one the schema would not", () => {
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: ["/shop"] } });
    expect(parseStoredConfig(JSON.stringify(config))).toEqual({ ok: true, value: config });
    expect(parseStoredConfig('{"routes":')).toMatchObject({ ok: false });
    expect(parseStoredConfig(JSON.stringify({ ...config, balancer: "fastest" }))).toMatchObject({ ok: false });
  });
});

describe("decodeMemberRow", () => {
  it("decodes a good row", () => {
    const decoded = decodeMemberRow(row());
    expect(decoded).toEqual({
      ok: true,
      member: member("c268f781ab94296e", {
        url: "http://10.0.0.7:8080",
        zone: "eu",
        metadata: { version: "1.4.2" },
        requests: 12,
        failures: 1,
        latencyMsTotal: 54.5,
      }),
    });
  });

  it("offers a repair that resets bad JSON columns and keeps the rest", () => {
    const decoded = decodeMemberRow(row({ health: "{oops", metadata: "[1]" }));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.reason).toBe("health: not JSON; metadata: not an object of strings");
    expect(decoded.repaired).toMatchObject({ id: "c268f781ab94296e", health: initialHealth(), metadata: null, requests: 12, zone: "eu" });
  });

  it("offers no repair when identity or counter columns are unusable", () => {
    for (const bad of [{ membership: "gone" }, { url: null }, { weight: "heavy" }, { requests: null }, { zone: 3 }]) {
      const decoded = decodeMemberRow(row(bad));
      expect(decoded, JSON.stringify(bad)).toMatchObject({ ok: false, id: "c268f781ab94296e", repaired: null });
    }
  });
});

describe("parseStoredCredentials and credentialsOf", () => {
  const hash = "a".repeat(64);
  const previous = { hash: "b".repeat(64), validUntil: T0 + 1000 };

  it("reads back what the coordinator writes, with and without a replaced token", () => {
    for (const c of [{ tokenHash: hash, createdAt: T0 }, { tokenHash: hash, previousToken: previous, createdAt: T0 }]) {
      expect(parseStoredCredentials(JSON.stringify(c))).toEqual({ ok: true, value: c });
    }
  });

  it("names what is wrong instead of throwing", () => {
    expect(parseStoredCredentials("{oops")).toEqual({ ok: false, reason: "credentials: not JSON" });
    for (const bad of [null, [], { tokenHash: "short", createdAt: T0 }, { tokenHash: hash }, { tokenHash: hash, createdAt: "now" }]) {
      expect(parseStoredCredentials(JSON.stringify(bad)), JSON.stringify(bad)).toEqual({ ok: false, reason: "credentials: no token hash or creation time" });
    }
    for (const p of [null, "x", { hash: "nope", validUntil: T0 }, { hash, validUntil: null }]) {
      expect(parseStoredCredentials(JSON.stringify({ tokenHash: hash, createdAt: T0, previousToken: p })), JSON.stringify(p)).toEqual({
        ok: false,
        reason: "credentials: previousToken is not a digest and a time",
      });
    }
  });

  it("credentialsOf takes a record's token fields and leaves out a previousToken that is not one", () => {
    expect(credentialsOf({ tokenHash: hash, previousToken: previous, createdAt: T0 })).toEqual({ tokenHash: hash, previousToken: previous, createdAt: T0 });
    for (const p of [null, "x", { hash: 1, validUntil: T0 }, { hash, validUntil: "later" }]) {
      const record = { tokenHash: hash, createdAt: T0, previousToken: p } as unknown as Parameters<typeof credentialsOf>[0];
      expect(credentialsOf(record), JSON.stringify(p)).toEqual({ tokenHash: hash, createdAt: T0 });
    }
  });
});
