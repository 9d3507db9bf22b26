import { describe, expect, it } from "vitest";
import { BALANCERS, BALANCER_KINDS, createBalancer, type BalancerKind } from "../../../src/core/balance/index.js";
import { RoundRobinBalancer } from "../../../src/core/balance/round-robin.js";
import { WeightedRoundRobinBalancer } from "../../../src/core/balance/weighted-round-robin.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { seededRandom } from "../seeded-random.js";
import { runBalancerCases } from "./balancer.case.js";

/**
 * Cases a kind cannot meet, with the reason (printed with the skipped test).
 * Both rotation kinds meet every case today; a random kind would list the
 * exact-share cases here, e.g. "spreads picks exactly evenly over equal-weight hosts".
 */
const SKIP: Partial<Record<BalancerKind, Record<string, string>>> = {};

for (const kind of BALANCER_KINDS) {
  const entry = BALANCERS[kind];
  let seed = 1;
  runBalancerCases({
    name: kind,
    // A fresh, differently seeded source per balancer: reproducible, and two balancers never share a sequence.
    newBalancer: () => entry.create({ random: seededRandom(seed++), start: 0 }),
    weighted: entry.weighted,
    skip: SKIP[kind] ?? {},
  });
}

describe("createBalancer", () => {
  const hosts = [
    { id: "a", weight: 1 },
    { id: "b", weight: 1 },
    { id: "c", weight: 1 },
  ];

  it("builds the balancer named by kind, with the kind alone (as the coordinator calls it)", () => {
    expect(createBalancer("round_robin")).toBeInstanceOf(RoundRobinBalancer);
    expect(createBalancer("weighted_round_robin")).toBeInstanceOf(WeightedRoundRobinBalancer);
    expect(createBalancer("round_robin").pick(hosts)?.id).toBe("a");
  });

  it("starts round robin at the given offset so cold isolates do not all hit host 0", () => {
    expect(createBalancer("round_robin", { start: 0 }).pick(hosts)?.id).toBe("a");
    expect(createBalancer("round_robin", { start: 1 }).pick(hosts)?.id).toBe("b");
    expect(createBalancer("round_robin", { start: 5 }).pick(hosts)?.id).toBe("c");
  });

  it("treats a negative or fractional start as a valid offset", () => {
    expect(createBalancer("round_robin", { start: -4 }).pick(hosts)?.id).toBe("a");
    expect(createBalancer("round_robin", { start: 2.9 }).pick(hosts)?.id).toBe("c");
  });
});

describe("balancer registry", () => {
  it("is what the service schema accepts, and nothing else", () => {
    const base = { routes: { pathPrefixes: ["/x"] } };
    for (const kind of BALANCER_KINDS) {
      expect(serviceConfigSchema.safeParse({ ...base, balancer: kind }).success).toBe(true);
    }
    expect(serviceConfigSchema.safeParse({ ...base, balancer: "least_request" }).success).toBe(false);
  });

  it("gives every kind a one-line description", () => {
    for (const kind of BALANCER_KINDS) {
      const { description } = BALANCERS[kind];
      expect(description.length).toBeGreaterThan(10);
      expect(description).not.toContain("\n");
    }
  });
});
