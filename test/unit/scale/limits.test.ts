import { describe, expect, it } from "vitest";
import { LIMITS } from "../../../scripts/scale/model/constants.mjs";
import { limitFlags, shardsNeeded, type LimitInputs } from "../../../scripts/scale/model/limits.mjs";
import { DEFAULT_INPUTS, coordinatorLoad, scaleModel, sweepCalls, sweepSliceFor } from "../../../scripts/scale/model/model.mjs";
import { sliceSize } from "../../../src/core/sweep/slice.js";

const UNDER: LimitInputs = {
  coordinatorRpsByDesign: { snapshot: 10 },
  kvMaxWritesPerKeyPerS: 0.1,
  worstSubrequests: 10,
  servicesPerFlush: 1,
  isolateMemoryBytes: 1_000_000,
  sweepSubrequests: 21,
  sweepKvOps: 3,
};

describe("limit flags at their boundaries", () => {
  it("flags nothing for a configuration inside every limit", () => {
    expect(limitFlags(UNDER)).toEqual([]);
  });

  const cases: [string, (v: number) => LimitInputs, number][] = [
    ["do-requests", (v) => ({ ...UNDER, coordinatorRpsByDesign: { snapshot: v } }), LIMITS.doRequestsPerSecond],
    ["kv-write-per-key", (v) => ({ ...UNDER, kvMaxWritesPerKeyPerS: v }), LIMITS.kvWritesPerKeyPerSecond],
    ["subrequests", (v) => ({ ...UNDER, worstSubrequests: v }), LIMITS.subrequestsPerRequest],
    ["connections", (v) => ({ ...UNDER, servicesPerFlush: v }), LIMITS.simultaneousConnections],
    ["isolate-memory", (v) => ({ ...UNDER, isolateMemoryBytes: v }), LIMITS.isolateMemoryBytes],
    // Each alone, so that the two together (sweep-operations) stay at the same total.
    ["sweep-subrequests", (v) => ({ ...UNDER, sweepSubrequests: v, sweepKvOps: 0 }), LIMITS.subrequestsPerRequest],
    ["sweep-kv-ops", (v) => ({ ...UNDER, sweepKvOps: v, sweepSubrequests: 0 }), LIMITS.kvOpsPerInvocation],
    ["sweep-operations", (v) => ({ ...UNDER, sweepSubrequests: v - UNDER.sweepKvOps }), LIMITS.kvOpsPerInvocation],
  ];
  for (const [limit, at, max] of cases) {
    it(`${limit}: at the limit is fine, just past it is flagged`, () => {
      expect(limitFlags(at(max))).toEqual([]);
      const flags = limitFlags(at(max * 1.0001));
      expect(flags.map((f) => f.limit)).toEqual([limit]);
      expect(flags[0]?.max).toBe(max);
    });
  }

  it("names the design whose coordinator is over the limit", () => {
    const flags = limitFlags({ ...UNDER, coordinatorRpsByDesign: { snapshot: 1_001, sharedRefresh: 999 } });
    expect(flags.map((f) => [f.limit, f.design])).toEqual([["do-requests", "snapshot"]]);
  });

  it("shards: one coordinator up to 1,000 req/s, then one more per 1,000", () => {
    expect(shardsNeeded(0)).toBe(1);
    expect(shardsNeeded(1_000)).toBe(1);
    expect(shardsNeeded(1_000.5)).toBe(2);
    expect(shardsNeeded(25_967)).toBe(26);
  });

  it("the worked example crosses the DO limit today and the subrequest limit in its unluckiest request", () => {
    const m = scaleModel(DEFAULT_INPUTS);
    const limits = new Set(m.flags.map((f) => f.limit));
    expect(limits.has("do-requests")).toBe(true);
    expect(limits.has("subrequests")).toBe(true);
    expect(limits.has("connections")).toBe(true);
    expect(limits.has("isolate-memory")).toBe(false);
    expect(limits.has("kv-write-per-key")).toBe(false);
    // The cron sweep: 2 RPCs per coordinator of its 450-service slice (901 with the registry's rebuild); its KV reads, in bulk, are 13.
    expect(m.sweep).toEqual({ subrequests: 901, kvOps: 13 });
    expect(limits.has("sweep-subrequests")).toBe(false);
    expect(limits.has("sweep-kv-ops")).toBe(false);
  });

  it("the sweep's RPCs stop at its slice (901), which shrinks so RPCs and KV operations fit 1,000 together; the KV operations alone stay inside up to about 90,000 services", () => {
    expect(sweepCalls({ ...DEFAULT_INPUTS, services: 449 }).subrequests).toBe(899);
    expect(sweepCalls({ ...DEFAULT_INPUTS, services: 8_000 }).subrequests).toBe(901);
    expect(sweepCalls({ ...DEFAULT_INPUTS, services: 10_000 }).subrequests).toBe(2 * 443 + 1);
    for (const services of [1_000, 9_000, 10_000, 50_000, 89_000]) {
      const calls = sweepCalls({ ...DEFAULT_INPUTS, services });
      expect(calls.subrequests + calls.kvOps).toBeLessThanOrEqual(1_000);
      expect(sweepSliceFor(services)).toBe(sliceSize(services, 450));
    }
    expect(sweepCalls({ ...DEFAULT_INPUTS, services: 100_000 }).subrequests).toBe(3);
    expect(sweepCalls({ ...DEFAULT_INPUTS, services: 90_000 }).kvOps).toBe(90 + 900 + 2);
    expect(sweepCalls({ ...DEFAULT_INPUTS, services: 91_000 }).kvOps).toBe(91 + 910 + 2);
    // Past one slice, each coordinator is swept every ⌈n / 450⌉ minutes: its share of the sweep's RPCs falls with it.
    expect(coordinatorLoad({ ...DEFAULT_INPUTS, services: 450 }).byDesign.snapshot.sweep).toBeCloseTo(2 / 60, 12);
    expect(coordinatorLoad({ ...DEFAULT_INPUTS, services: 1_000 }).byDesign.snapshot.sweep).toBeCloseTo(2 / 180, 12);
  });
});

/** Deterministic pseudo-random configurations (fixed seed), so the property is checked over many shapes. */
function* configurations(count: number) {
  let seed = 12_345;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < count; i++) {
    yield {
      ...DEFAULT_INPUTS,
      locations: 1 + Math.floor(next() * 300),
      isolatesPerLocation: 1 + Math.floor(next() * 100),
      rps: 1_000 + next() * 1_000_000,
      services: 1 + Math.floor(next() * 100),
      doRttMs: next() * 100,
    };
  }
}

describe("the shared refresh per location", () => {
  it("stays near one RPC per TTL for a busy location when the copy lands quickly", () => {
    for (const c of configurations(100)) {
      // A 1 ms round trip: collisions within the window are rare even at 100 isolates.
      const load = coordinatorLoad({ ...c, doRttMs: 1 });
      expect(load.byDesign.sharedRefresh.snapshotRefresh / c.locations).toBeLessThan(2);
    }
  });
});

describe("doubling isolates per location", () => {
  it("with the same traffic: the unshared refresh load grows and doubles for busy isolates; the shared one grows less", () => {
    let busy = 0;
    for (const c of configurations(200)) {
      const once = coordinatorLoad(c).byDesign;
      const doubled = coordinatorLoad({ ...c, isolatesPerLocation: 2 * c.isolatesPerLocation });
      const ratio = doubled.byDesign.snapshot.snapshotRefresh / once.snapshot.snapshotRefresh;
      expect(ratio).toBeGreaterThan(1);
      expect(ratio).toBeLessThanOrEqual(2);
      // Busy: at least 20 req/s per isolate and service after doubling, so a refresh is due about every TTL.
      if (doubled.perIsolateServiceRps >= 20) {
        busy++;
        expect(ratio).toBeGreaterThan(1.95);
      }
      // More isolates per location bring a longer longest lead and more collisions, but far fewer RPCs than one each.
      expect(doubled.byDesign.sharedRefresh.snapshotRefresh / once.sharedRefresh.snapshotRefresh).toBeLessThan(ratio);
    }
    // The busy case must actually be exercised by the generated configurations.
    expect(busy).toBeGreaterThan(5);
  });

  it("with traffic per isolate held: the unshared refresh load doubles exactly; the shared refresh grows less than twice", () => {
    for (const c of configurations(200)) {
      const once = coordinatorLoad(c).byDesign;
      const doubled = coordinatorLoad({ ...c, isolatesPerLocation: 2 * c.isolatesPerLocation, rps: 2 * c.rps }).byDesign;
      expect(doubled.snapshot.snapshotRefresh / once.snapshot.snapshotRefresh).toBeCloseTo(2, 9);
      expect(doubled.sharedRefresh.snapshotRefresh / once.sharedRefresh.snapshotRefresh).toBeLessThan(2);
    }
  });
});
