import type { Balancer, BalancerOptions } from "./balancer.js";
import { MaglevBalancer } from "./hash/maglev.js";
import { RingHashBalancer } from "./hash/ring-hash.js";
import { LeastRequestBalancer } from "./load/least-request.js";
import { PeakEwmaBalancer } from "./load/peak-ewma.js";
import { RandomBalancer } from "./random.js";
import { RoundRobinBalancer } from "./round-robin.js";
import type { BalancerOptionName, BalancerSettings } from "./settings.js";
import { WeightedRoundRobinBalancer } from "./weighted-round-robin.js";

/** One balancer kind: how to build it and what to tell users about it. */
export interface BalancerEntry {
  /** `settings` are resolved: every option has its value or its default. */
  create(options: BalancerOptions, settings: BalancerSettings): Balancer;
  /** One line for the docs table (docs/architecture.md); a unit test keeps the two equal. */
  description: string;
  /** True when the kind honours `weight`; the shared case suite checks shares accordingly. */
  weighted: boolean;
  /** The options the object form `{"kind": ..., ...}` accepts for this kind. */
  options: readonly BalancerOptionName[];
  /**
   * True when `routing.mode: "strict"` can run it: the coordinator answers
   * every pick, which keeps an exact global rotation. Kinds that read
   * per-isolate load or a request key have neither at the coordinator.
   */
  strict: boolean;
  /** True for kinds that pick by the request's hash key (`hashOn`). */
  hashed: boolean;
}

/**
 * The one list of balancer kinds (STYLE.md habit 14). The schema, the
 * factory, the docs table and the shared case suite all read it, so a new kind
 * is a new file in this folder plus one entry here.
 */
export const BALANCERS = {
  round_robin: {
    create: ({ start }) => new RoundRobinBalancer(start),
    description: "plain rotation in list order; a retry goes to the next host",
    weighted: false,
    options: [],
    strict: true,
    hashed: false,
  },
  weighted_round_robin: {
    create: () => new WeightedRoundRobinBalancer(),
    description: "smooth weighted round-robin (nginx's algorithm): `weight` shares, interleaved",
    weighted: true,
    options: [],
    strict: true,
    hashed: false,
  },
  random: {
    create: ({ random }) => new RandomBalancer(random),
    description: "weighted random: no state to share, so many isolates spread load without coordinating",
    weighted: true,
    options: [],
    strict: false,
    hashed: false,
  },
  least_request: {
    create: ({ random }, s) => new LeastRequestBalancer(random, s.choiceCount, s.activeRequestBias),
    description: "Envoy's least request: fewest tries in flight of `choiceCount` random hosts; for uneven work or slow hosts",
    weighted: true,
    options: ["choiceCount", "activeRequestBias"],
    strict: false,
    hashed: false,
  },
  peak_ewma: {
    create: ({ random, now }, s) => new PeakEwmaBalancer(random, now, s.decayMs, s.defaultRttMs),
    description: "peak-EWMA (Linkerd): cheaper of two random hosts by latency × (in flight + 1); for hosts of uneven speed",
    weighted: false,
    options: ["decayMs", "defaultRttMs"],
    strict: false,
    hashed: false,
  },
  ring_hash: {
    create: ({ random }) => new RingHashBalancer(random),
    description: "Ketama consistent-hash ring on `hashOn`: the same key keeps its host, and few keys move when hosts change",
    weighted: true,
    options: ["hashOn"],
    strict: false,
    hashed: true,
  },
  maglev: {
    create: ({ random }) => new MaglevBalancer(random),
    description: "Maglev hashing on `hashOn` (65,537-slot table): like `ring_hash` with faster lookups and more even shares",
    weighted: true,
    options: ["hashOn"],
    strict: false,
    hashed: true,
  },
} as const satisfies Record<string, BalancerEntry>;

export type BalancerKind = keyof typeof BALANCERS;

/** The kinds in registry order, as a non-empty tuple (what z.enum needs). */
export const BALANCER_KINDS = Object.keys(BALANCERS) as [BalancerKind, ...BalancerKind[]];
