import { describe, expect, it } from "vitest";
import { parseStoredCredentials } from "../../../src/core/membership/stored.js";
import { credentialsForPut, credentialsForRotation, credentialsOf, type ServiceCredentials } from "../../../src/core/schema/credentials.js";
import { serviceConfigSchema, type ServiceRecord } from "../../../src/core/schema/service.js";

const T0 = 1_795_399_200_000;
const mine = "a".repeat(64);
const held: ServiceCredentials = { tokenHash: "b".repeat(64), previousToken: { hash: "c".repeat(64), validUntil: T0 + 1 }, createdAt: T0 - 100 };
const record: ServiceRecord = {
  name: "shop",
  config: serviceConfigSchema.parse({ routes: { pathPrefixes: ["/shop"] } }),
  tokenHash: "d".repeat(64),
  createdAt: T0 - 50,
  updatedAt: T0 - 10,
};

describe("credentialsForPut", () => {
  it("creates with the PUT's own token only when neither the coordinator nor the record knows the service", () => {
    expect(credentialsForPut(null, null, false, mine, T0)).toEqual({ tokenHash: mine, createdAt: T0 });
  });

  it("keeps the coordinator's credentials over the record's, and over a record that was not found", () => {
    expect(credentialsForPut(held, record, false, mine, T0)).toBe(held);
    expect(credentialsForPut(held, null, false, mine, T0)).toBe(held);
  });

  it("takes the record's when the coordinator holds none (an object from an older build)", () => {
    expect(credentialsForPut(null, record, false, mine, T0)).toEqual({ tokenHash: record.tokenHash, createdAt: record.createdAt });
  });

  it("replaces a damaged record with a new token whatever is held", () => {
    expect(credentialsForPut(held, null, true, mine, T0)).toEqual({ tokenHash: mine, createdAt: T0 });
  });
});

describe("credentialsForRotation", () => {
  it("rotates from the coordinator's token, keeping the replaced one for its grace and the creation time", () => {
    expect(credentialsForRotation(held, { tokenHash: record.tokenHash, createdAt: record.createdAt }, mine, T0 + 5)).toEqual({
      tokenHash: mine,
      previousToken: { hash: held.tokenHash, validUntil: T0 + 5 },
      createdAt: held.createdAt,
    });
  });

  it("rotates from the record's when the coordinator holds none", () => {
    expect(credentialsForRotation(null, { tokenHash: record.tokenHash, createdAt: record.createdAt }, mine, T0 + 5)).toEqual({
      tokenHash: mine,
      previousToken: { hash: record.tokenHash, validUntil: T0 + 5 },
      createdAt: record.createdAt,
    });
  });

  it("changes nothing when the token is already the one in force (a retried call)", () => {
    const rotated = credentialsForRotation(held, held, mine, T0 + 5);
    expect(credentialsForRotation(rotated, held, mine, T0 + 9)).toBe(rotated);
  });
});

describe("credentialsOf", () => {
  it("takes from a record only what the coordinator reads back after a reload (a hand-edited previousToken hash is left out, not stored and then dropped as corrupt with the token)", () => {
    const previous = { hash: "e".repeat(64), validUntil: T0 + 1 };
    for (const p of [previous, { hash: "nope", validUntil: T0 }, { hash: "E".repeat(64), validUntil: T0 }, { hash: `${"e".repeat(64)}0`, validUntil: T0 }]) {
      const taken = credentialsOf({ ...record, previousToken: p });
      expect(parseStoredCredentials(JSON.stringify(taken)), JSON.stringify(p)).toEqual({ ok: true, value: taken });
    }
  });
});
