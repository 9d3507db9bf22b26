import { describe, expect, it as test } from "vitest";
import type { Balancer, Candidate, HostLoad } from "../../../src/core/balance/balancer.js";
import { defined } from "../defined.js";
import { seededRandom } from "../seeded-random.js";

/**
 * The one case suite every balancer must pass (STYLE.md habits 2 and 14).
 * balancers.test.ts runs it for every kind in src/core/balance/registry.ts, so
 * a new balancer is a new file plus one registry entry. A case a kind cannot
 * meet is skipped with a written reason (`skip`), printed as a skipped test.
 */
export interface BalancerCaseOptions {
  name: string;
  /** Each call builds a fresh balancer; randomness in it must come from the seeded source. */
  newBalancer: () => Balancer;
  /** True when the balancer honours `weight`; false when it must ignore it. */
  weighted: boolean;
  /** True when the balancer picks by the request's key (the `key` argument); keyless picks are then random. */
  hashed: boolean;
  /** Case name → why this kind cannot meet it. */
  skip?: Readonly<Record<string, string>>;
}

interface Host extends Candidate {
  url: string;
}

function host(id: string, weight = 1): Host {
  return { id, weight, url: `https://${id}.example.com` };
}

function pickOrThrow(balancer: Balancer, hosts: readonly Host[], exclude?: ReadonlySet<string>, load?: HostLoad, key?: string): Host {
  return defined(balancer.pick(hosts, exclude, load, key), "a picked host");
}

function pickMany(balancer: Balancer, hosts: readonly Host[], n: number, exclude?: ReadonlySet<string>): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(pickOrThrow(balancer, hosts, exclude).id);
  return ids;
}

function countBy(ids: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}

/**
 * Statistical bound for random kinds: `count` of `n` draws with success
 * probability `p` is within 5 standard deviations of n·p (a seeded source makes
 * each run reproducible; 5σ keeps a correct kind from failing by chance with
 * another seed). Rotation kinds meet it trivially.
 */
function expectNear(counts: Record<string, number>, id: string, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  const got = counts[id] ?? 0;
  expect(Math.abs(got - n * p), `${id}: ${got} of ${n}, expected about ${Math.round(n * p)}`).toBeLessThanOrEqual(5 * sd + 1);
}

function longestRun(ids: readonly string[], id: string): number {
  let best = 0;
  let run = 0;
  for (const x of ids) {
    run = x === id ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** A load report that claims host "a" is swamped; load-blind kinds must ignore it, none may break exclusion for it. */
const SKEWED_LOAD: HostLoad = {
  activeTries: (id) => (id === "a" ? 100 : 0),
  latencyMs: (id) => (id === "a" ? 5_000 : 10),
};

export function runBalancerCases({ name, newBalancer, weighted, hashed, skip = {} }: BalancerCaseOptions): void {
  describe(`balancer: ${name}`, () => {
    const declared = new Set<string>();
    /** `it`, unless this kind declared the case skipped: then `it.skip` with the reason in its title. */
    const it = (title: string, fn: () => void): void => {
      declared.add(title);
      const reason = skip[title];
      if (reason === undefined) test(title, fn);
      else test.skip(`${title} (skipped for ${name}: ${reason})`, fn);
    };
    const abc = [host("a"), host("b"), host("c")];

    it("spreads picks exactly evenly over equal-weight hosts", () => {
      const counts = countBy(pickMany(newBalancer(), abc, 300));
      expect(counts).toEqual({ a: 100, b: 100, c: 100 });
    });

    it("spreads picks evenly over equal-weight hosts, within statistical bounds", () => {
      const counts = countBy(pickMany(newBalancer(), abc, 3000));
      for (const id of ["a", "b", "c"]) expectNear(counts, id, 3000, 1 / 3);
    });

    it("returns the candidate object it was given, not a copy", () => {
      const picked = pickOrThrow(newBalancer(), abc);
      expect(abc).toContain(picked);
      expect(picked.url).toBe(`https://${picked.id}.example.com`);
    });

    it("always returns the only host of a one-host list", () => {
      const only = [host("solo", 3)];
      expect(new Set(pickMany(newBalancer(), only, 10))).toEqual(new Set(["solo"]));
    });

    if (weighted) {
      it("respects weights: 5/1/1 over 700 picks gives 500/100/100", () => {
        const hosts = [host("a", 5), host("b", 1), host("c", 1)];
        const counts = countBy(pickMany(newBalancer(), hosts, 700));
        expect(counts).toEqual({ a: 500, b: 100, c: 100 });
      });

      it("respects weights within statistical bounds: 5/1/1 gives about 5/7, 1/7, 1/7", () => {
        const hosts = [host("a", 5), host("b", 1), host("c", 1)];
        const counts = countBy(pickMany(newBalancer(), hosts, 7000));
        expectNear(counts, "a", 7000, 5 / 7);
        expectNear(counts, "b", 7000, 1 / 7);
        expectNear(counts, "c", 7000, 1 / 7);
      });

      it("keeps proportions among the remaining hosts when one is excluded, within statistical bounds", () => {
        const hosts = [host("a", 3), host("b", 1), host("c", 5)];
        const counts = countBy(pickMany(newBalancer(), hosts, 4000, new Set(["c"])));
        expect(counts["c"]).toBeUndefined();
        expectNear(counts, "a", 4000, 3 / 4);
        expectNear(counts, "b", 4000, 1 / 4);
      });

      it("interleaves smoothly: every window of sum(weights) picks holds exact shares, no bursts", () => {
        const hosts = [host("a", 5), host("b", 1), host("c", 1)];
        const ids = pickMany(newBalancer(), hosts, 70);
        for (let start = 0; start < ids.length; start += 7) {
          expect(countBy(ids.slice(start, start + 7))).toEqual({ a: 5, b: 1, c: 1 });
        }
        // A bursty balancer sends a a a a a b c; smooth WRR spreads the light
        // hosts through the cycle (the documented order is a a b a c a a), so
        // within one cycle the heavy host never runs more than twice, and even
        // across the cycle boundary (… a a | a a …) it stays below its weight.
        expect(ids.slice(0, 7)).toEqual(["a", "a", "b", "a", "c", "a", "a"]);
        for (let start = 0; start < ids.length; start += 7) {
          expect(longestRun(ids.slice(start, start + 7), "a")).toBeLessThanOrEqual(2);
        }
        expect(longestRun(ids, "a")).toBeLessThan(5);
        expect(longestRun(ids, "b")).toBe(1);
        expect(longestRun(ids, "c")).toBe(1);
      });

      it("keeps proportions among the remaining hosts when one is excluded", () => {
        const hosts = [host("a", 3), host("b", 1), host("c", 5)];
        const counts = countBy(pickMany(newBalancer(), hosts, 400, new Set(["c"])));
        expect(counts).toEqual({ a: 300, b: 100 });
      });
    } else {
      it("ignores weights: 5/1/1 hosts are still picked evenly", () => {
        const hosts = [host("a", 5), host("b", 1), host("c", 1)];
        const counts = countBy(pickMany(newBalancer(), hosts, 699));
        expect(counts).toEqual({ a: 233, b: 233, c: 233 });
      });

      it("ignores weights within statistical bounds: 5/1/1 hosts get about a third each", () => {
        const hosts = [host("a", 5), host("b", 1), host("c", 1)];
        const counts = countBy(pickMany(newBalancer(), hosts, 3000));
        for (const id of ["a", "b", "c"]) expectNear(counts, id, 3000, 1 / 3);
      });

      it("rotates in list order", () => {
        const ids = pickMany(newBalancer(), abc, 6);
        const first = defined(ids[0], "first pick");
        const offset = abc.findIndex((h) => h.id === first);
        const expected = Array.from({ length: 6 }, (_, i) => defined(abc[(offset + i) % 3], "host").id);
        expect(ids).toEqual(expected);
      });

      it("on retry lands on the next host in order after the excluded one", () => {
        const balancer = newBalancer();
        for (let i = 0; i < 9; i++) {
          const first = pickOrThrow(balancer, abc);
          const retry = pickOrThrow(balancer, abc, new Set([first.id]));
          const next = defined(abc[(abc.indexOf(first) + 1) % abc.length], "next host");
          expect(retry.id).toBe(next.id);
        }
      });
    }

    it("never returns an excluded host", () => {
      const balancer = newBalancer();
      const ids = pickMany(balancer, abc, 300, new Set(["b"]));
      expect(ids).not.toContain("b");
      expect(new Set(ids)).toEqual(new Set(["a", "c"]));
    });

    it("never returns any of several excluded hosts", () => {
      const hosts = [host("a"), host("b"), host("c"), host("d"), host("e")];
      const ids = pickMany(newBalancer(), hosts, 100, new Set(["a", "c", "e"]));
      expect(new Set(ids)).toEqual(new Set(["b", "d"]));
    });

    it("returns undefined when every host is excluded", () => {
      const balancer = newBalancer();
      expect(balancer.pick(abc, new Set(["a", "b", "c"]))).toBeUndefined();
      // ...and still works afterwards.
      expect(abc).toContain(balancer.pick(abc));
    });

    it("returns undefined for an empty candidate list", () => {
      const balancer = newBalancer();
      expect(balancer.pick([])).toBeUndefined();
      expect(balancer.pick([], new Set(["a"]))).toBeUndefined();
      expect(abc).toContain(balancer.pick(abc));
    });

    it("on a retry that excludes the picked host, returns a different host", () => {
      const balancer = newBalancer();
      for (let i = 0; i < 20; i++) {
        const first = pickOrThrow(balancer, abc);
        const retry = pickOrThrow(balancer, abc, new Set([first.id]));
        expect(retry.id).not.toBe(first.id);
        const third = pickOrThrow(balancer, abc, new Set([first.id, retry.id]));
        expect([first.id, retry.id]).not.toContain(third.id);
      }
    });

    it("copes with hosts being added between picks", () => {
      const balancer = newBalancer();
      pickMany(balancer, abc, 7);
      const grown = [...abc, host("d")];
      const ids = pickMany(balancer, grown, 400);
      for (const id of ids) expect(["a", "b", "c", "d"]).toContain(id);
      const counts = countBy(ids);
      for (const id of ["a", "b", "c", "d"]) {
        expect(counts[id] ?? 0).toBeGreaterThanOrEqual(98);
        expect(counts[id] ?? 0).toBeLessThanOrEqual(102);
      }
    });

    it("copes with hosts being removed between picks and never returns a removed host", () => {
      const balancer = newBalancer();
      const five = [host("a"), host("b"), host("c"), host("d"), host("e")];
      pickMany(balancer, five, 8);
      const shrunk = [host("a"), host("c"), host("e")];
      const ids = pickMany(balancer, shrunk, 300);
      expect(new Set(ids)).toEqual(new Set(["a", "c", "e"]));
      const counts = countBy(ids);
      for (const id of ["a", "c", "e"]) {
        expect(counts[id] ?? 0).toBeGreaterThanOrEqual(98);
        expect(counts[id] ?? 0).toBeLessThanOrEqual(102);
      }
    });

    it("spreads over hosts added between picks, within statistical bounds", () => {
      const balancer = newBalancer();
      pickMany(balancer, abc, 7);
      const ids = pickMany(balancer, [...abc, host("d")], 4000);
      const counts = countBy(ids);
      expect(Object.keys(counts).sort()).toEqual(["a", "b", "c", "d"]);
      for (const id of ["a", "b", "c", "d"]) expectNear(counts, id, 4000, 1 / 4);
    });

    it("spreads over the hosts left after some are removed, within statistical bounds, never a removed one", () => {
      const balancer = newBalancer();
      pickMany(balancer, [host("a"), host("b"), host("c"), host("d"), host("e")], 8);
      const counts = countBy(pickMany(balancer, [host("a"), host("c"), host("e")], 3000));
      expect(Object.keys(counts).sort()).toEqual(["a", "c", "e"]);
      for (const id of ["a", "c", "e"]) expectNear(counts, id, 3000, 1 / 3);
    });

    it("survives a list that changes on every pick (membership churn)", () => {
      const balancer = newBalancer();
      const pool = Array.from({ length: 12 }, (_, i) => host(`h${i}`, (i % 3) + 1));
      for (let i = 0; i < 500; i++) {
        // A sliding window of 1-5 hosts, so ids keep arriving and leaving.
        const size = (i % 5) + 1;
        const window = Array.from({ length: size }, (_, k) => defined(pool[(i + k) % pool.length], "pool host"));
        const exclude = size > 1 && i % 2 === 0 ? new Set([defined(window[0], "first in window").id]) : undefined;
        const picked = pickOrThrow(balancer, window, exclude);
        expect(window).toContain(picked);
        if (exclude !== undefined) expect(exclude.has(picked.id)).toBe(false);
      }
    });

    it("keeps a list fair while picks from another, smaller list come in between (a zone, split group or priority level)", () => {
      // The edge hands one balancer the pool a request's policies leave it: two zones' clients, a canary
      // group and the rest, or two priority levels interleave picks over different lists of one service.
      const balancer = newBalancer();
      const small = [host("s")];
      const big = Array.from({ length: 11 }, (_, i) => host(`b${i}`));
      const coin = seededRandom(29);
      const ids: string[] = [];
      for (let i = 0; i < 22_000; i++) {
        if (coin() < 0.5) pickOrThrow(balancer, small);
        else ids.push(pickOrThrow(balancer, big).id);
      }
      const counts = countBy(ids);
      for (const h of big) expectNear(counts, h.id, ids.length, 1 / big.length);
    });

    it("keeps its own state: two instances do not share counters", () => {
      const one = newBalancer();
      const two = newBalancer();
      const fromOne = pickMany(one, abc, 3);
      pickMany(two, abc, 5);
      expect(pickMany(one, abc, 3)).toEqual(fromOne);
    });

    it("takes a load report without ever returning an excluded or unknown host", () => {
      const balancer = newBalancer();
      for (let i = 0; i < 50; i++) {
        const picked = pickOrThrow(balancer, abc, new Set(["b"]), SKEWED_LOAD);
        expect(["a", "c"]).toContain(picked.id);
      }
      expect(balancer.pick(abc, new Set(["a", "b", "c"]), SKEWED_LOAD)).toBeUndefined();
    });

    if (hashed) {
      const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);

      it("sends the same key to the same host every time", () => {
        const balancer = newBalancer();
        const first = users.map((u) => balancer.pick(abc, undefined, undefined, u)?.id);
        for (let round = 0; round < 3; round++) {
          expect(users.map((u) => balancer.pick(abc, undefined, undefined, u)?.id)).toEqual(first);
        }
        // ...and a fresh balancer (another isolate) agrees: the mapping is a function of the key and the hosts.
        const other = newBalancer();
        expect(users.map((u) => other.pick(abc, undefined, undefined, u)?.id)).toEqual(first);
      });

      it("spreads distinct keys over the hosts, no host left out or swamped", () => {
        const balancer = newBalancer();
        const counts = countBy(users.map((u) => pickOrThrow(balancer, abc, undefined, undefined, u).id));
        // Hash placement is not a fair coin, so the bound is looser than 5σ of a binomial.
        for (const id of ["a", "b", "c"]) {
          expect(counts[id] ?? 0).toBeGreaterThan(60);
          expect(counts[id] ?? 0).toBeLessThan(140);
        }
      });

      it("moves a key off an excluded host, and back once it is not excluded", () => {
        const balancer = newBalancer();
        for (const u of users.slice(0, 50)) {
          const home = pickOrThrow(balancer, abc, undefined, undefined, u);
          const away = pickOrThrow(balancer, abc, new Set([home.id]), undefined, u);
          expect(away.id).not.toBe(home.id);
          expect(pickOrThrow(balancer, abc, undefined, undefined, u).id).toBe(home.id);
        }
        expect(balancer.pick(abc, new Set(["a", "b", "c"]), undefined, "user-1")).toBeUndefined();
      });
    }

    test("skips only cases that exist", () => {
      // A typo in a skip map would otherwise silently run nothing.
      for (const title of Object.keys(skip)) expect(declared).toContain(title);
    });
  });
}
