import { describe, expect, it } from "vitest";
import { anyAtCapacity, excludedFromPick, holdInstance } from "../../../src/core/flow/concurrency.js";
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
