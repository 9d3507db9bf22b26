import { describe, expect, it } from "vitest";
import { SnapshotKeeper } from "../../../src/coordinator/snapshots.js";
import { initialHealth } from "../../../src/core/health/health-machine.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import type { Member } from "../../../src/core/membership/member.js";
import { member, T0 } from "./fixtures.js";

describe("SnapshotKeeper", () => {
  it("with affinity, rebuilds when a draining member's ejection ends, so its pinned sessions come back", () => {
    const config = serviceConfigSchema.parse({ routes: { pathPrefixes: ["/x"] }, affinity: { mode: "cookie" } });
    const draining = member("b", {
      membership: "draining",
      membershipSince: T0,
      leaseExpiresAt: T0 + 60_000,
      health: { ...initialHealth(), ejectedUntil: T0 + 1_000, ejections: 1 },
    });
    const members = new Map<string, Member>([["a", member("a")], ["b", draining]]);
    const keeper = new SnapshotKeeper(0, () => undefined);
    const first = keeper.current(members, "svc", false, T0, config);
    expect(first.draining).toEqual([]);
    const later = keeper.current(members, "svc", false, T0 + 2_000, config);
    expect(later.draining?.map((d) => d.id)).toEqual(["b"]);
    expect(later.version).toBeGreaterThan(first.version);
  });
});
