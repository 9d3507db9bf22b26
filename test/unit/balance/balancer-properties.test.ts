import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BALANCERS, BALANCER_KINDS, createBalancer, type Candidate, type HostLoad } from "../../../src/core/balance/index.js";
import { buildMaglevTable, MAGLEV_TABLE_SIZE, maglevPreference } from "../../../src/core/balance/hash/maglev.js";
import { buildRing, POINTS_PER_HOST } from "../../../src/core/balance/hash/ring-hash.js";
import { seededRandom } from "../seeded-random.js";

/**
 * Property tests (fast-check) over every kind in the registry, and over the
 * hash kinds' tables. Structural properties run with fast-check's own seed;
 * statistical ones with a fixed seed, so a correct balancer never fails by
 * chance and a failure reproduces.
 */

const hostsArb = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: ids.length, maxLength: ids.length })))
  .map(([ids, weights]): Candidate[] => ids.map((id, i) => ({ id, weight: weights[i] ?? 1 })));

const loadArb = fc.option(
  fc.record({ busy: fc.integer({ min: 0, max: 50 }), slowMs: fc.integer({ min: 0, max: 5000 }) }).map(
    ({ busy, slowMs }): HostLoad => ({ activeTries: (id) => (id.length % 2 === 0 ? busy : 0), latencyMs: () => slowMs }),
  ),
  { nil: undefined },
);

describe("every kind: structure", () => {
  for (const kind of BALANCER_KINDS) {
    it(`${kind}: never returns an excluded host or one not in the list, and undefined only when nothing is eligible`, () => {
      fc.assert(
        fc.property(hostsArb, fc.array(fc.nat(), { maxLength: 12 }), loadArb, fc.option(fc.string(), { nil: undefined }), fc.integer(), (hosts, excludeAt, load, key, seed) => {
          const balancer = createBalancer(kind, { random: seededRandom(seed), now: () => 1_000 });
          const exclude = new Set(excludeAt.map((i) => hosts[i % hosts.length]?.id ?? ""));
          balancer.observe?.(hosts[0]?.id ?? "", 40, 900);
          for (let i = 0; i < 20; i++) {
            const picked = balancer.pick(hosts, exclude, load, key);
            if (picked === undefined) {
              expect(hosts.every((h) => exclude.has(h.id))).toBe(true);
            } else {
              expect(hosts).toContain(picked);
              expect(exclude.has(picked.id)).toBe(false);
            }
          }
          expect(balancer.pick([], undefined, load, key)).toBeUndefined();
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe("weighted kinds: weights respected statistically", () => {
  for (const kind of BALANCER_KINDS.filter((k) => BALANCERS[k].weighted)) {
    it(`${kind}: each host's share of 4,000 keyless picks is within 5σ of weight ÷ total`, () => {
      fc.assert(
        fc.property(hostsArb, fc.integer(), (hosts, seed) => {
          const balancer = createBalancer(kind, { random: seededRandom(seed), now: () => 0 });
          const n = 4_000;
          const counts = new Map<string, number>();
          for (let i = 0; i < n; i++) {
            const id = balancer.pick(hosts)?.id ?? "none";
            counts.set(id, (counts.get(id) ?? 0) + 1);
          }
          const total = hosts.reduce((s, h) => s + h.weight, 0);
          for (const h of hosts) {
            const p = h.weight / total;
            const sd = Math.sqrt(n * p * (1 - p));
            expect(Math.abs((counts.get(h.id) ?? 0) - n * p)).toBeLessThanOrEqual(5 * sd + 1);
          }
        }),
        { numRuns: 25, seed: 10 },
      );
    });
  }
});

/** Keys of 20,000 requests, as a hash kind sees them. */
const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function owners(kind: "ring_hash" | "maglev", hosts: readonly Candidate[]): string[] {
  const balancer = createBalancer(kind);
  return KEYS.map((k) => balancer.pick(hosts, undefined, undefined, k)?.id ?? "none");
}

function hostsNamed(n: number, weight: (i: number) => number = () => 1): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({ id: `10.0.${i >> 8}.${i & 255}:8080`, weight: weight(i) }));
}

describe("hash kinds: removing one of N hosts moves about 1/N of keys", () => {
  for (const kind of ["ring_hash", "maglev"] as const) {
    it(`${kind}: equal weights, N = 2…40: moved ≤ 1.15/N + 1 %, and only ring keys of the removed host move`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), (n, at) => {
          const hosts = hostsNamed(n);
          const gone = hosts[at % n]?.id ?? "";
          const before = owners(kind, hosts);
          const after = owners(kind, hosts.filter((h) => h.id !== gone));
          let moved = 0;
          let movedElsewhere = 0;
          before.forEach((owner, i) => {
            if (after[i] === owner) return;
            moved++;
            if (owner !== gone) movedElsewhere++;
          });
          expect(moved / KEYS.length).toBeLessThanOrEqual(1.15 / n + 0.01);
          // A ring keeps every surviving point, so no key of a surviving host moves; Maglev's refill may move a few.
          if (kind === "ring_hash") expect(movedElsewhere).toBe(0);
          else expect(movedElsewhere / KEYS.length).toBeLessThanOrEqual(0.15 / n + 0.01);
        }),
        { numRuns: 15, seed: 7 },
      );
    });

    it(`${kind}: unequal weights, removing a host lighter than the heaviest moves about its share`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 3, maxLength: 20 }), fc.nat(), (weights, at) => {
          const hosts = hostsNamed(weights.length, (i) => weights[i] ?? 1);
          const heaviest = Math.max(...weights);
          // Remove a host whose weight is below the heaviest (the heaviest scales everyone's points, see ring-hash.ts).
          const light = hosts.filter((h) => h.weight < heaviest);
          fc.pre(light.length > 0);
          const gone = light[at % light.length]?.id ?? "";
          const share = (hosts.find((h) => h.id === gone)?.weight ?? 0) / weights.reduce((s, w) => s + w, 0);
          const before = owners(kind, hosts);
          const after = owners(kind, hosts.filter((h) => h.id !== gone));
          const moved = before.filter((owner, i) => after[i] !== owner).length / KEYS.length;
          expect(moved).toBeLessThanOrEqual(1.3 * share + 0.02);
        }),
        { numRuns: 10, seed: 11 },
      );
    });
  }
});

describe("Maglev table", () => {
  it("gives every host a preference list that is a permutation of the slots", () => {
    const size = 251; // prime, small enough to walk every list
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        const { offset, skip } = maglevPreference(id, size);
        const seen = new Set<number>();
        for (let k = 0; k < size; k++) seen.add((offset + k * skip) % size);
        expect(seen.size).toBe(size);
      }),
    );
  });

  it("fills every slot with a host, in equal shares (⌊M/N⌋ or ⌈M/N⌉) for equal weights, whatever the list order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer(), (n, seed) => {
        const hosts = hostsNamed(n);
        const table = buildMaglevTable(hosts);
        expect(table.length).toBe(MAGLEV_TABLE_SIZE);
        const counts = new Array<number>(n).fill(0);
        let outOfRange = 0;
        for (const owner of table) {
          if (owner < 0 || owner >= n) outOfRange++;
          else counts[owner] = (counts[owner] ?? 0) + 1;
        }
        expect(outOfRange).toBe(0);
        const fair = new Set([Math.floor(MAGLEV_TABLE_SIZE / n), Math.ceil(MAGLEV_TABLE_SIZE / n)]);
        expect(counts.filter((c) => !fair.has(c))).toEqual([]);
        // Another isolate may list the hosts in another order: slot → host id must not change.
        const random = seededRandom(seed);
        const shuffled = [...hosts].sort(() => random() - 0.5);
        const again = buildMaglevTable(shuffled);
        let differ = 0;
        for (let s = 0; s < table.length; s++) if (shuffled[again[s] ?? -1]?.id !== hosts[table[s] ?? -1]?.id) differ++;
        expect(differ).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  it("gives each host a share within 1 % of the table of weight ÷ total", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 30 }), (weights) => {
        const hosts = hostsNamed(weights.length, (i) => weights[i] ?? 1);
        const table = buildMaglevTable(hosts);
        const counts = new Array<number>(hosts.length).fill(0);
        for (const owner of table) counts[owner] = (counts[owner] ?? 0) + 1;
        const total = weights.reduce((s, w) => s + w, 0);
        weights.forEach((w, i) => {
          expect(Math.abs((counts[i] ?? 0) - (MAGLEV_TABLE_SIZE * w) / total)).toBeLessThanOrEqual(0.01 * MAGLEV_TABLE_SIZE);
        });
      }),
      { numRuns: 30 },
    );
  });
});

describe("ring", () => {
  it("has at least 1,024 points, sorted, the heaviest host holding POINTS_PER_HOST of them", () => {
    fc.assert(
      fc.property(hostsArb, (hosts) => {
        const ring = buildRing(hosts);
        expect(ring.points.length).toBeGreaterThanOrEqual(1024);
        let unsorted = 0;
        for (let i = 1; i < ring.points.length; i++) if ((ring.points[i] ?? 0) < (ring.points[i - 1] ?? 0)) unsorted++;
        expect(unsorted).toBe(0);
        const heaviest = Math.max(...hosts.map((h) => h.weight));
        const counts = new Array<number>(hosts.length).fill(0);
        for (const o of ring.owners) counts[o] = (counts[o] ?? 0) + 1;
        hosts.forEach((h, i) => {
          expect(counts[i]).toBe(Math.max(1, Math.round((POINTS_PER_HOST * h.weight) / heaviest)));
        });
      }),
      { numRuns: 50 },
    );
  });
});
