import { describe, expect, it } from "vitest";
import { createBalancer } from "../../../src/core/balance/index.js";
import { RoundRobinBalancer } from "../../../src/core/balance/round-robin.js";
import { WeightedRoundRobinBalancer } from "../../../src/core/balance/weighted-round-robin.js";
import { runBalancerCases } from "./balancer.case.js";

runBalancerCases({ name: "round_robin", newBalancer: () => createBalancer("round_robin"), weighted: false });
runBalancerCases({ name: "weighted_round_robin", newBalancer: () => createBalancer("weighted_round_robin"), weighted: true });

describe("createBalancer", () => {
  const hosts = [
    { id: "a", weight: 1 },
    { id: "b", weight: 1 },
    { id: "c", weight: 1 },
  ];

  it("builds the balancer named by kind", () => {
    expect(createBalancer("round_robin")).toBeInstanceOf(RoundRobinBalancer);
    expect(createBalancer("weighted_round_robin")).toBeInstanceOf(WeightedRoundRobinBalancer);
  });

  it("starts round robin at the given offset so cold isolates do not all hit host 0", () => {
    expect(createBalancer("round_robin", 0).pick(hosts)?.id).toBe("a");
    expect(createBalancer("round_robin", 1).pick(hosts)?.id).toBe("b");
    expect(createBalancer("round_robin", 5).pick(hosts)?.id).toBe("c");
  });

  it("treats a negative or fractional start as a valid offset", () => {
    expect(createBalancer("round_robin", -4).pick(hosts)?.id).toBe("a");
    expect(createBalancer("round_robin", 2.9).pick(hosts)?.id).toBe("c");
  });
});
