import { describe, expect, it } from "vitest";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { toSnapshotInstance } from "../../../src/core/membership/member.js";
import { buildSnapshot, pinUntil, snapshotPolicy, snapshotSignature, snapshotValidUntil } from "../../../src/core/membership/snapshot-rules.js";
import { ROUTER_SNAPSHOT_MAX_AGE_MS } from "../../../src/core/lease/lease.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import type { Snapshot, SnapshotInstance } from "../../../src/core/snapshot.js";
import { member, T0 } from "./fixtures.js";

const unhealthy = { ...initialHealth(), status: "unhealthy" as const };
const ejectedUntil = (t: number) => ({ ...initialHealth(), ejectedUntil: t, ejections: 1 });

describe("buildSnapshot", () => {
  it("holds the routable active members only, in the order given", () => {
    const members = [
      member("a"),
      member("b", { health: unhealthy }),
      member("c", { membership: "draining" }),
      member("d", { health: ejectedUntil(T0 + 1) }),
      member("e", { health: ejectedUntil(T0 - 1) }),
    ];
    const snap = buildSnapshot(members, "shop", 4, false, T0);
    expect(snap).toEqual({
      service: "shop",
      version: 4,
      instances: [toSnapshotInstance(members[0] ?? member("?")), toSnapshotInstance(members[4] ?? member("?"))],
      allUnhealthy: false,
      panic: false,
      generatedAt: T0,
    });
  });

  it("with no routable member, routes to none unless panic routing is on, then to every active member", () => {
    const members = [member("a", { health: unhealthy }), member("b", { health: ejectedUntil(T0 + 5) }), member("c", { membership: "expired" })];
    const off = buildSnapshot(members, "s", 1, false, T0);
    expect([off.allUnhealthy, off.panic, off.instances]).toEqual([true, false, []]);
    const on = buildSnapshot(members, "s", 1, true, T0);
    expect([on.allUnhealthy, on.panic, on.instances.map((i) => i.id)]).toEqual([true, true, ["a", "b"]]);
  });

  it("treats an active member whose lease ran out by now as gone: not routed, not in panic, not in groups", () => {
    const lapsed = member("b", { leaseExpiresAt: T0, zone: "eu" });
    const snap = buildSnapshot([member("a", { leaseExpiresAt: T0 + 1 }), lapsed], "s", 1, false, T0);
    expect(snap.instances.map((i) => i.id)).toEqual(["a"]);
    expect(snap.groups).toBeUndefined();
    // One millisecond earlier its lease still runs.
    expect(buildSnapshot([lapsed], "s", 1, false, T0 - 1).instances.map((i) => i.id)).toEqual(["b"]);
    // With every active lease run out the service has no active member: no panic, nothing routed.
    const none = buildSnapshot([member("c", { leaseExpiresAt: T0, health: unhealthy })], "s", 1, true, T0);
    expect([none.allUnhealthy, none.panic, none.instances]).toEqual([false, false, []]);
  });

  it("is not all-unhealthy for a service with no active members", () => {
    expect(buildSnapshot([member("a", { membership: "draining" })], "s", 1, true, T0).allUnhealthy).toBe(false);
  });
});

describe("snapshotSignature", () => {
  const base = (instances: SnapshotInstance[]): Snapshot => ({ service: "s", version: 1, instances, allUnhealthy: false, panic: false, generatedAt: T0 });
  const one = toSnapshotInstance(member("a", { metadata: { version: "v1" } }), { labelKeys: ["version"], healthySince: true });

  it("ignores version, generatedAt and the service name, which do not change where requests go", () => {
    expect(snapshotSignature({ ...base([one]), version: 9, generatedAt: T0 + 1, service: "t" })).toBe(snapshotSignature(base([one])));
  });

  it("changes with membership, order, allUnhealthy and panic", () => {
    const two = toSnapshotInstance(member("b"));
    const sig = snapshotSignature(base([one, two]));
    expect(snapshotSignature(base([one]))).not.toBe(sig);
    expect(snapshotSignature(base([two, one]))).not.toBe(sig);
    expect(snapshotSignature({ ...base([]), allUnhealthy: true })).not.toBe(snapshotSignature(base([])));
    expect(snapshotSignature({ ...base([one]), allUnhealthy: true, panic: true })).not.toBe(snapshotSignature({ ...base([one]), allUnhealthy: true }));
  });

  it("changes when any one SnapshotInstance field changes, zone, priority and location included", () => {
    // `satisfies Record<keyof SnapshotInstance, …>`: a field added to SnapshotInstance without
    // an entry here fails to compile, and the loop checks the signature covers every field.
    const changed = {
      id: "z",
      url: "http://z.example",
      weight: 5,
      zone: "eu-west",
      labels: { version: "v2" },
      healthySince: T0 + 1,
      priority: 1,
      location: { latitude: 51.5, longitude: -0.12 },
    } satisfies Record<keyof SnapshotInstance, unknown>;
    // priority and location are left out of a member's instance when unset (0, none); labels and healthySince without the policies.
    const full = toSnapshotInstance(member("a", { metadata: { version: "v1" }, priority: 2, location: { latitude: 1, longitude: 2 } }), {
      labelKeys: ["version"],
      healthySince: true,
    });
    expect(Object.keys(full).sort()).toEqual(Object.keys(changed).sort());
    for (const key of Object.keys(changed) as (keyof SnapshotInstance)[]) {
      expect(snapshotSignature(base([{ ...one, [key]: changed[key] }])), `field ${key}`).not.toBe(snapshotSignature(base([one])));
    }
  });
});

describe("snapshotValidUntil", () => {
  it("is the earliest ejection or lease end still ahead among active members, Infinity when none", () => {
    const notActive = [member("c", { membership: "draining" }), member("e", { membership: "expired", leaseExpiresAt: T0 + 1_000 })];
    expect(snapshotValidUntil(notActive, T0)).toBe(Number.POSITIVE_INFINITY);
    const lease = T0 + 60_000;
    const members = [
      member("a", { health: ejectedUntil(T0 + 9_000), leaseExpiresAt: lease }),
      member("b", { health: ejectedUntil(T0 + 4_000), leaseExpiresAt: lease }),
      member("c", { health: ejectedUntil(T0 + 1_000), membership: "draining", leaseExpiresAt: lease }),
      member("d", { health: ejectedUntil(T0 - 1), leaseExpiresAt: lease }),
    ];
    expect(snapshotValidUntil(members, T0)).toBe(T0 + 4_000);
    // A lease end counts like an ejection end: the member leaves the routable set then.
    expect(snapshotValidUntil([...members, member("f", { leaseExpiresAt: T0 + 2_000 })], T0)).toBe(T0 + 2_000);
    // A lease that already ran out changes nothing more.
    expect(snapshotValidUntil([member("g", { leaseExpiresAt: T0 })], T0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("with affinity, also ends when a draining member's ejection or pin ends (its draining list changes)", () => {
    const affinity = { labelKeys: null, healthySince: false, affinity: true };
    const drainingEjected = member("c", { health: ejectedUntil(T0 + 1_000), membership: "draining", leaseExpiresAt: T0 + 60_000 });
    const members = [member("a"), drainingEjected];
    const until = snapshotValidUntil(members, T0, affinity);
    const signatureAt = (t: number) => snapshotSignature(buildSnapshot(members, "svc", 1, false, t, affinity));
    // The draining list changes at T0 + 1 s (the ejection ends), so the snapshot built at T0 is stale then.
    expect(signatureAt(T0 + 1_000)).not.toBe(signatureAt(T0));
    expect(until).toBeLessThanOrEqual(T0 + 1_000);
    // ...and again when its pin ends.
    const pinned = [member("a"), member("d", { membership: "draining", leaseExpiresAt: T0 + 5_000 })];
    expect(snapshotValidUntil(pinned, T0, affinity)).toBe(T0 + 5_000);
    // Without affinity there is no draining list, so neither matters: only active "a"'s lease end does.
    expect(snapshotValidUntil(members, T0)).toBe(T0 + 30_000);
  });
});

describe("snapshot policy (split labels, slow start, affinity's draining list)", () => {
  const affinityOnly = { labelKeys: null, healthySince: false, affinity: true };

  it("is undefined for a service with none of the policies, so its snapshot is unchanged", () => {
    expect(snapshotPolicy(null)).toBeUndefined();
    expect(snapshotPolicy(serviceConfigSchema.parse({ routes: { pathPrefixes: ["/x"] } }))).toBeUndefined();
  });

  it("asks for the labels the split names (each once), healthySince with slow start, and the draining list with affinity", () => {
    const config = serviceConfigSchema.parse({
      routes: { pathPrefixes: ["/x"] },
      split: [
        { match: { header: { "x-canary": "1" } }, to: { version: "v2" } },
        { percent: 5, to: { version: "v2", tier: "a" } },
      ],
      slowStartSeconds: 30,
      affinity: { mode: "cookie" },
    });
    expect(snapshotPolicy(config)).toEqual({ labelKeys: ["version", "tier"], healthySince: true, affinity: true });
  });

  it("lists healthy draining members with affinity until their lease or the router bound ends, whichever is first", () => {
    const members = [
      member("a"),
      member("d", { membership: "draining", membershipSince: T0, leaseExpiresAt: T0 + 10_000 }),
      member("e", { membership: "draining", membershipSince: T0, leaseExpiresAt: T0 + 600_000 }),
      member("f", { membership: "draining", health: unhealthy }),
      member("g", { membership: "draining", membershipSince: T0 - 60_000, leaseExpiresAt: T0 - 1 }),
      member("h", { membership: "expired" }),
    ];
    const snap = buildSnapshot(members, "s", 1, false, T0 + 1, affinityOnly);
    expect(snap.instances.map((i) => i.id)).toEqual(["a"]);
    expect(snap.draining?.map((i) => [i.id, i.pinUntil])).toEqual([
      ["d", T0 + 10_000],
      ["e", T0 + ROUTER_SNAPSHOT_MAX_AGE_MS],
    ]);
    expect(pinUntil(members[2] ?? member("?"))).toBe(T0 + ROUTER_SNAPSHOT_MAX_AGE_MS);
    expect(buildSnapshot(members, "s", 1, false, T0 + 1).draining).toBeUndefined();
  });

  it("puts the draining list in the signature", () => {
    const draining = [member("a"), member("d", { membership: "draining" })];
    const withDrain = buildSnapshot(draining, "s", 1, false, T0, affinityOnly);
    const without = buildSnapshot([member("a")], "s", 1, false, T0, affinityOnly);
    expect(snapshotSignature(withDrain)).not.toBe(snapshotSignature(without));
    // Without affinity the signature is the one every snapshot had before the draining list existed.
    const plain = buildSnapshot([member("a")], "s", 1, false, T0);
    expect(snapshotSignature(plain)).toBe(JSON.stringify([false, false, plain.instances]));
  });
});
