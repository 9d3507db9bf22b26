import type { Balancer, BalancerKind } from "./balancer.js";
import { RoundRobinBalancer } from "./round-robin.js";
import { WeightedRoundRobinBalancer } from "./weighted-round-robin.js";

export type { Balancer, BalancerKind, Candidate } from "./balancer.js";

export function createBalancer(kind: BalancerKind, start = 0): Balancer {
  switch (kind) {
    case "round_robin":
      return new RoundRobinBalancer(start);
    case "weighted_round_robin":
      return new WeightedRoundRobinBalancer();
  }
}
