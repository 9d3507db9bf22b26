import { describe, expect, it } from "vitest";
import { BALANCERS, BALANCER_KINDS, createBalancer, type BalancerKind } from "../../../src/core/balance/index.js";
import { RoundRobinBalancer } from "../../../src/core/balance/round-robin.js";
import { WeightedRoundRobinBalancer } from "../../../src/core/balance/weighted-round-robin.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";
import { seededRandom } from "../seeded-random.js";
import { runBalancerCases } from "./balancer.case.js";

/**
 * Cases a kind cannot meet, with the reason (printed with the skipped test).
 * The rotation kinds meet every case. The kinds that draw at random cannot
 * meet the exact-count and exact-order cases; each such case has a
 * statistical twin in the suite that every kind runs.
 */
const DRAWS = "draws at random: exact counts do not apply (the 'within statistical bounds' case covers it)";
const NO_ORDER = "draws at random: there is no rotation order to follow";
const NO_PERIOD = "compares a balancer against its own rotation period; a random kind's picks depend on its seed, not on a period";
const RANDOM_KIND: Record<string, string> = {
  "spreads picks exactly evenly over equal-weight hosts": DRAWS,
  "copes with hosts being added between picks": DRAWS,
  "copes with hosts being removed between picks and never returns a removed host": DRAWS,
  "keeps its own state: two instances do not share counters": NO_PERIOD,
};
const RANDOM_WEIGHTED: Record<string, string> = {
  ...RANDOM_KIND,
  "respects weights: 5/1/1 over 700 picks gives 500/100/100": DRAWS,
  "interleaves smoothly: every window of sum(weights) picks holds exact shares, no bursts": NO_ORDER,
  "keeps proportions among the remaining hosts when one is excluded": DRAWS,
};
const SKIP: Partial<Record<BalancerKind, Record<string, string>>> = {
  random: RANDOM_WEIGHTED,
  least_request: RANDOM_WEIGHTED,
  peak_ewma: {
    ...RANDOM_KIND,
    "ignores weights: 5/1/1 hosts are still picked evenly": DRAWS,
    "rotates in list order": NO_ORDER,
    "on retry lands on the next host in order after the excluded one": NO_ORDER,
  },
  // Without a key (most of the suite) the hash kinds draw at random, weighted.
  ring_hash: RANDOM_WEIGHTED,
  maglev: RANDOM_WEIGHTED,
};

for (const kind of BALANCER_KINDS) {
  const entry = BALANCERS[kind];
  let seed = 1;
  runBalancerCases({
    name: kind,
    // A fresh, differently seeded source per balancer: reproducible, and two balancers never share a sequence.
    newBalancer: () => createBalancer(kind, { random: seededRandom(seed++), start: 0, now: () => 0 }),
    weighted: entry.weighted,
    hashed: entry.hashed,
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
    expect(serviceConfigSchema.safeParse({ ...base, balancer: "fastest" }).success).toBe(false);
  });

  it("gives every kind a one-line description", () => {
    for (const kind of BALANCER_KINDS) {
      const { description } = BALANCERS[kind];
      expect(description.length).toBeGreaterThan(10);
      expect(description).not.toContain("\n");
    }
  });
});
