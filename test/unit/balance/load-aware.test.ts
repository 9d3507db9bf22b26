import { describe, expect, it } from "vitest";
import type { HostLoad } from "../../../src/core/balance/index.js";
import { LeastRequestBalancer } from "../../../src/core/balance/load/least-request.js";
import { PeakEwmaBalancer } from "../../../src/core/balance/load/peak-ewma.js";
import { seededRandom } from "../seeded-random.js";

const abc = [
  { id: "a", weight: 1 },
  { id: "b", weight: 1 },
  { id: "c", weight: 1 },
];

function loadOf(active: Record<string, number>): HostLoad {
  return { activeTries: (id) => active[id] ?? 0, latencyMs: () => undefined };
}

function share(pick: () => string | undefined, id: string, n = 3000): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (pick() === id) hits++;
  return hits / n;
}

describe("least_request", () => {
  it("equal weights: a busy host wins only when both draws land on it (1/9 of picks with two choices of three)", () => {
    const lr = new LeastRequestBalancer(seededRandom(3), 2, 1);
    const load = loadOf({ a: 5 });
    const s = share(() => lr.pick(abc, undefined, load)?.id, "a", 9000);
    expect(s).toBeGreaterThan(0.08);
    expect(s).toBeLessThan(0.145);
  });

  it("equal weights: more choices shed the busy host harder", () => {
    const load = loadOf({ a: 5 });
    const two = share(() => new LeastRequestBalancer(seededRandom(4), 2, 1).pick(abc, undefined, load)?.id, "a");
    const lr4 = new LeastRequestBalancer(seededRandom(4), 4, 1);
    const four = share(() => lr4.pick(abc, undefined, load)?.id, "a");
    expect(four).toBeLessThan(0.03);
    expect(four).toBeLessThan(two);
  });

  it("unequal weights: weight ÷ (active + 1)^bias, so a heavy host with 3 in flight drops to a quarter of its weight", () => {
    const hosts = [
      { id: "heavy", weight: 4 },
      { id: "light", weight: 1 },
    ];
    const lr = new LeastRequestBalancer(seededRandom(5), 2, 1);
    // Effective weights: heavy 4/(3+1) = 1, light 1/1 = 1: an even split.
    const s = share(() => lr.pick(hosts, undefined, loadOf({ heavy: 3 }))?.id, "heavy", 6000);
    expect(s).toBeGreaterThan(0.45);
    expect(s).toBeLessThan(0.55);
    // Bias 0 ignores load: back to 4/5.
    const blind = new LeastRequestBalancer(seededRandom(5), 2, 0);
    const b = share(() => blind.pick(hosts, undefined, loadOf({ heavy: 3 }))?.id, "heavy", 6000);
    expect(b).toBeGreaterThan(0.76);
    expect(b).toBeLessThan(0.84);
  });
});

describe("peak_ewma", () => {
  const DECAY = 10_000;

  it("a slower observation replaces the estimate at once (the peak)", () => {
    const pe = new PeakEwmaBalancer(seededRandom(1), () => 0, DECAY, 30);
    pe.observe("a", 10, 1_000);
    pe.observe("a", 200, 1_001);
    expect(pe.estimateMs("a", 1_001)).toBeCloseTo(200, 6);
  });

  it("a faster observation is blended in with weight 1 − exp(−elapsed / decay)", () => {
    const pe = new PeakEwmaBalancer(seededRandom(1), () => 0, DECAY, 30);
    pe.observe("a", 100, 0);
    pe.observe("a", 20, DECAY);
    const w = Math.exp(-1);
    expect(pe.estimateMs("a", DECAY)).toBeCloseTo(100 * w + 20 * (1 - w), 6);
  });

  it("decays toward zero while a host is not observed, and uses the prior for a host never observed", () => {
    const pe = new PeakEwmaBalancer(seededRandom(1), () => 0, DECAY, 30);
    pe.observe("a", 80, 0);
    expect(pe.estimateMs("a", 2 * DECAY)).toBeCloseTo(80 * Math.exp(-2), 6);
    expect(pe.estimateMs("never", 5)).toBe(30);
  });

  it("sends a host 50 ms slower than the others almost nothing, and tries it again once its estimate has decayed", () => {
    let now = 0;
    const pe = new PeakEwmaBalancer(seededRandom(2), () => now, DECAY, 30);
    for (const h of abc) pe.observe(h.id, h.id === "a" ? 60 : 10, 0);
    now = 10;
    // Two distinct draws out of three always include a cheaper host than "a".
    expect(share(() => pe.pick(abc)?.id, "a")).toBe(0);
    // Ten decay times later, with "b" and "c" still observed at 10 ms, "a" (60 × e^−10 ≈ 0) looks cheapest.
    now = 10 * DECAY;
    pe.observe("b", 10, now);
    pe.observe("c", 10, now);
    expect(share(() => pe.pick(abc)?.id, "a", 300)).toBeGreaterThan(0.5);
  });

  it("multiplies the estimate by tries in flight + 1", () => {
    const pe = new PeakEwmaBalancer(seededRandom(3), () => 0, DECAY, 30);
    const two = abc.slice(0, 2);
    pe.observe("a", 10, 0);
    pe.observe("b", 25, 0);
    expect(pe.pick(two, undefined, loadOf({}))?.id).toBe("a");
    // a: 10 × (2 + 1) = 30 > b: 25 × 1.
    expect(pe.pick(two, undefined, loadOf({ a: 2 }))?.id).toBe("b");
  });
});

describe("peak_ewma: an estimate of 0", () => {
  // Latency is measured in whole milliseconds, so an origin that answers in under 1 ms is observed at 0;
  // an estimate left alone long enough also decays to exactly 0 (e^-x underflows past x ≈ 745).
  const DECAY = 10_000;
  const two = abc.slice(0, 2);

  it("does not hide tries in flight: a 0 ms host with 50 in flight loses to an idle 5 ms host", () => {
    const pe = new PeakEwmaBalancer(seededRandom(7), () => 0, DECAY, 30);
    pe.observe("a", 0, 0);
    pe.observe("b", 5, 0);
    // Two hosts: both are drawn every time, so the cost alone decides.
    for (let i = 0; i < 20; i++) expect(pe.pick(two, undefined, loadOf({ a: 50 }))?.id).toBe("b");
  });

  it("between hosts all at 0 ms, the one with fewer tries in flight wins", () => {
    const pe = new PeakEwmaBalancer(seededRandom(8), () => 0, DECAY, 30);
    pe.observe("a", 0, 0);
    pe.observe("b", 0, 0);
    for (let i = 0; i < 20; i++) expect(pe.pick(two, undefined, loadOf({ a: 3, b: 1 }))?.id).toBe("b");
    for (let i = 0; i < 20; i++) expect(pe.pick(two, undefined, loadOf({ a: 1, b: 3 }))?.id).toBe("a");
  });

  it("a 0 ms host with a few tries in flight still beats a slow idle host: 0 ms means under the clock's 1 ms step, not unknown", () => {
    const pe = new PeakEwmaBalancer(seededRandom(10), () => 0, DECAY, 30);
    pe.observe("a", 0, 0);
    pe.observe("b", 200, 0);
    for (let i = 0; i < 20; i++) expect(pe.pick(two, undefined, loadOf({ a: 3 }))?.id).toBe("a");
  });

  it("a host whose estimate decayed to 0 still pays for its tries in flight", () => {
    let now = 0;
    const pe = new PeakEwmaBalancer(seededRandom(9), () => now, DECAY, 30);
    pe.observe("a", 40, 0);
    now = 1_000 * DECAY;
    pe.observe("b", 40, now);
    expect(pe.estimateMs("a", now)).toBe(0);
    // 0.5 ms × 101 against 40 ms × 1.
    for (let i = 0; i < 20; i++) expect(pe.pick(two, undefined, loadOf({ a: 100 }))?.id).toBe("b");
    // With nothing in flight it is as cheap as its estimate says, and is tried again.
    expect(pe.pick(two, undefined, loadOf({}))?.id).toBe("a");
  });
});

describe("peak_ewma: picks over part of the service", () => {
  // The edge hands one balancer the pool a request's policies leave it: a locality zone, a split group or a
  // priority level. A pick over a few hosts says nothing about whether the others are still members.
  const hosts = Array.from({ length: 14 }, (_, i) => ({ id: `h${i}`, weight: 1 }));

  it("keeps the estimates of hosts outside the list it picks from", () => {
    const pe = new PeakEwmaBalancer(seededRandom(11), () => 0, 10_000, 30);
    pe.observe("h0", 5_000, 0);
    for (const h of hosts.slice(1)) pe.observe(h.id, 50, 0);
    pe.pick(hosts.slice(1, 3));
    expect(pe.estimateMs("h0", 0)).toBe(5_000);
    // h0 is dearer than any host it can be drawn with, so it never wins a pick over the whole list.
    for (let i = 0; i < 300; i++) expect(pe.pick(hosts)?.id).not.toBe("h0");
  });

  it("forgets hosts that left the service when the caller says which hosts are members (prepare)", () => {
    const pe = new PeakEwmaBalancer(seededRandom(12), () => 0, 10_000, 30);
    for (const h of hosts) pe.observe(h.id, 80, 0);
    pe.prepare?.(hosts.slice(1));
    expect(pe.estimateMs("h0", 0)).toBe(30);
    expect(pe.estimateMs("h1", 0)).toBe(80);
  });
});
