import { describe, expect, it } from "vitest";
import { anyAtCapacity, excludedFromPick, holdInstance, inFlight, relayEnded, relayStarted } from "../../../src/core/flow/concurrency.js";
import { markDown, pickLocal, tryFinished, tryStarted } from "../../../src/core/local-health/local-pick.js";
import { adoptSnapshot, newLocalServiceState, type LocalServiceState } from "../../../src/core/local-health/local-service-state.js";
import { snapshot, STALL_MS, T0 } from "../local-health/fixtures.js";

function state(ids: readonly string[] = ["a", "b", "c"], balancer: "round_robin" | "least_request" = "round_robin"): LocalServiceState {
  return newLocalServiceState(snapshot(ids), "coordinator", balancer, T0, () => 0);
}

function picks(s: LocalServiceState, n: number, now: number, cap?: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pickLocal(s, undefined, now, STALL_MS, undefined, cap)?.id ?? "none");
  return out;
}

describe("maxConcurrentRequestsPerInstance in the pick", () => {
  it("skips an instance with cap tries in flight, and takes it back when one ends", () => {
    const s = state();
    tryStarted(s, "a", T0);
    tryStarted(s, "a", T0);
    expect(picks(s, 6, T0, 2)).not.toContain("a");
    expect(picks(s, 6, T0, 3)).toContain("a");
    tryFinished(s, "a", T0);
    expect(picks(s, 6, T0, 2)).toContain("a");
  });

  it("finds nothing when every instance is at its cap (unlike a mark, which is only avoided)", () => {
    const s = state(["a", "b"]);
    for (const id of ["a", "b"]) tryStarted(s, id, T0);
    expect(picks(s, 3, T0, 1)).toEqual(["none", "none", "none"]);
    expect(anyAtCapacity(s, 1)).toBe(true);
    expect(anyAtCapacity(s, 2)).toBe(false);
    markDown(s, "a", T0);
    markDown(s, "b", T0);
    expect(picks(s, 2, T0, 2)).not.toContain("none");
  });

  it("costs nothing without a cap or a hold: the tried set itself comes back", () => {
    const s = state();
    tryStarted(s, "a", T0);
    const tried = new Set(["b"]);
    expect(excludedFromPick(s, tried, T0, undefined)).toBe(tried);
    expect(excludedFromPick(s, tried, T0, 5)).toBe(tried);
    expect([...(excludedFromPick(s, tried, T0, 1) ?? [])].sort()).toEqual(["a", "b"]);
    expect(tried).toEqual(new Set(["b"]));
  });
});

describe("answers still relaying their body, under maxConcurrentRequestsPerInstance", () => {
  it("count against the cap until the body ends, with the tries waiting for headers", () => {
    const s = state(["a", "b"]);
    relayStarted(s, "a");
    expect(picks(s, 4, T0, 1)).toEqual(["b", "b", "b", "b"]);
    expect(anyAtCapacity(s, 1)).toBe(true);
    tryStarted(s, "b", T0);
    expect(picks(s, 2, T0, 1)).toEqual(["none", "none"]);
    // One try waiting and one body relaying make two: at a cap of 2, a is full.
    tryStarted(s, "a", T0);
    expect(inFlight(s, "a")).toBe(2);
    expect(picks(s, 4, T0, 2)).toEqual(["b", "b", "b", "b"]);
    relayEnded(s, "a");
    tryFinished(s, "a", T0);
    expect(picks(s, 6, T0, 1)).toContain("a");
    expect(anyAtCapacity(s, 1)).toBe(true);
    tryFinished(s, "b", T0);
    expect(anyAtCapacity(s, 1)).toBe(false);
  });

  it("leave no entry behind once every body has ended, and cost nothing below the cap", () => {
    const s = state();
    relayStarted(s, "a");
    relayStarted(s, "a");
    relayEnded(s, "a");
    expect(inFlight(s, "a")).toBe(1);
    const tried = new Set(["b"]);
    expect(excludedFromPick(s, tried, T0, 2)).toBe(tried);
    relayEnded(s, "a");
    expect(s.relaying.size).toBe(0);
    expect(inFlight(s, "a")).toBe(0);
  });

  it("are not what stall avoidance and the load-aware balancers see: only tries waiting for headers are", () => {
    const s = state(["a", "b"], "least_request");
    for (let i = 0; i < 3; i++) relayStarted(s, "a");
    expect(s.load.activeTries("a")).toBe(0);
    // Without a cap, a streaming instance is no less picked, and never counted as stalled.
    expect(picks(s, 6, T0 + 10 * STALL_MS)).toContain("a");
  });
});

describe("Retry-After holds", () => {
  it("keep an instance out until the hold ends, even when nothing else is left", () => {
    const s = state(["a", "b"]);
    holdInstance(s, "a", T0 + 2_000);
    expect(picks(s, 4, T0)).toEqual(["b", "b", "b", "b"]);
    holdInstance(s, "b", T0 + 1_000);
    expect(picks(s, 2, T0 + 500)).toEqual(["none", "none"]);
    expect(picks(s, 2, T0 + 1_000)).toEqual(["b", "b"]);
    expect(picks(s, 2, T0 + 2_000)).toEqual(expect.arrayContaining(["a"]));
    expect(s.held.size).toBe(0);
  });

  it("are never shortened by a later, shorter one, and outlive a new snapshot version", () => {
    const s = state(["a", "b"]);
    holdInstance(s, "a", T0 + 5_000);
    holdInstance(s, "a", T0 + 1_000);
    adoptSnapshot(s, snapshot(["a", "b"], 2), "coordinator", T0 + 10);
    expect(picks(s, 4, T0 + 3_000)).toEqual(["b", "b", "b", "b"]);
  });
});
