import { initialHealth } from "../../../src/core/health/health-machine.js";
import type { Member } from "../../../src/core/membership/member.js";

export const T0 = 1_700_000_000_000;

export function member(id: string, overrides: Partial<Member> = {}): Member {
  return {
    id,
    url: `http://${id}.example:8080`,
    weight: 1,
    zone: null,
    priority: 0,
    location: null,
    metadata: null,
    ttlSeconds: null,
    registeredAt: T0,
    leaseExpiresAt: T0 + 30_000,
    membership: "active",
    membershipSince: T0,
    health: initialHealth(),
    requests: 0,
    failures: 0,
    latencyMsTotal: 0,
    ...overrides,
  };
}
