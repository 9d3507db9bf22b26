import { describe, expect, it } from "vitest";
import {
  LOCAL_MARK_BASE_MS,
  LOCAL_MARK_MAX_MS,
  markDown,
  markUp,
  pickLocal,
  tryFinished,
  tryStarted,
  untriedCount,
} from "../../../src/core/local-health/local-pick.js";
import { adoptSnapshot, newLocalServiceState, useBalancerKind, type LocalServiceState } from "../../../src/core/local-health/local-service-state.js";
import { snapshot, STALL_MS, T0 } from "./fixtures.js";
import { seededRandom } from "../seeded-random.js";



/** Round-robin starting at host 0: random() always 0, so the start offset is 0. */
function state(ids: readonly string[] = ["a", "b", "c"]): LocalServiceState {
  return newLocalServiceState(snapshot(ids), "coordinator", "round_robin", T0, () => 0);
}

function picks(s: LocalServiceState, n: number, now: number, tried?: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pickLocal(s, tried, now, STALL_MS)?.id ?? "none");
  return out;
}

describe("local marks", () => {
  it("avoid a marked instance until the mark expires", () => {
    const s = state();
    markDown(s, "a", T0);
    expect(picks(s, 6, T0 + 1)).not.toContain("a");
    expect(picks(s, 6, T0 + LOCAL_MARK_BASE_MS - 1)).not.toContain("a");
    expect(picks(s, 6, T0 + LOCAL_MARK_BASE_MS)).toContain("a");
  });

  it("double per strike and stop at the cap", () => {
    const s = state();
    const durations: number[] = [];
    let now = T0;
    for (let strike = 0; strike < 6; strike++) {
      markDown(s, "a", now);
      const until = s.marks.get("a")?.until ?? 0;
      durations.push(until - now);
      now = until + 1;
    }
    expect(durations).toEqual([2_000, 4_000, 8_000, 16_000, LOCAL_MARK_MAX_MS, LOCAL_MARK_MAX_MS]);
  });

  it("remember strikes after expiry, though the instance is no longer avoided", () => {
    const s = state();
    markDown(s, "a", T0);
    const later = T0 + LOCAL_MARK_BASE_MS + 10;
    expect(picks(s, 3, later)).toContain("a");
    expect(s.marks.get("a")?.strikes).toBe(1);
    markDown(s, "a", later);
    expect(s.marks.get("a")).toEqual({ until: later + 2 * LOCAL_MARK_BASE_MS, strikes: 2 });
  });

  it("are cleared for an instance that answers", () => {
    const s = state();
    markDown(s, "a", T0);
    markDown(s, "a", T0 + 1);
    markUp(s, "a");
    expect(s.marks.has("a")).toBe(false);
    markDown(s, "a", T0 + 2);
    expect(s.marks.get("a")?.strikes).toBe(1);
  });

  it("ask for a fresh snapshot on the next request", () => {
    const s = state();
    expect(s.refreshDue).toBe(false);
    markDown(s, "b", T0 + 5);
    expect(s.refreshDue).toBe(true);
    // The snapshot's age is untouched: a busy isolate that marks an instance is not an idle one.
    expect(s.fetchedAt).toBe(T0);
  });

  it("are ignored when every instance is marked: a marked host beats no host", () => {
    const s = state();
    for (const id of ["a", "b", "c"]) markDown(s, id, T0);
    expect(new Set(picks(s, 6, T0 + 1))).toEqual(new Set(["a", "b", "c"]));
  });
});

describe("stall avoidance", () => {
  it("avoids an instance whose oldest try has waited longer than stallMs, only while another choice exists", () => {
    const s = state(["a", "b"]);
    tryStarted(s, "a", T0);
    expect(picks(s, 4, T0 + STALL_MS)).toContain("a");
    expect(picks(s, 4, T0 + STALL_MS + 1)).toEqual(["b", "b", "b", "b"]);
    tryStarted(s, "b", T0);
    // Both stalled: no other choice, so both are used again.
    expect(new Set(picks(s, 4, T0 + STALL_MS + 1))).toEqual(new Set(["a", "b"]));
  });

  it("stops avoiding once the stalled try finishes, even with a newer try still pending", () => {
    const s = state(["a", "b"]);
    tryStarted(s, "a", T0);
    tryStarted(s, "a", T0 + 200);
    tryFinished(s, "a", T0);
    // The remaining try started at T0+200 has not stalled yet at T0+300.
    expect(picks(s, 4, T0 + 300)).toContain("a");
    tryFinished(s, "a", T0 + 200);
    expect(s.pending.size).toBe(0);
  });

  it("feeds the balancer the tries in flight per instance, without allocating per pick", () => {
    const s = state(["a", "b"]);
    tryStarted(s, "a", T0);
    tryStarted(s, "a", T0 + 1);
    expect(s.load.activeTries("a")).toBe(2);
    expect(s.load.activeTries("b")).toBe(0);
    tryFinished(s, "a", T0);
    expect(s.load.activeTries("a")).toBe(1);
  });

  it("ignores finishing a try that was never started", () => {
    const s = state(["a"]);
    tryFinished(s, "a", T0);
    tryStarted(s, "a", T0);
    tryFinished(s, "a", T0 + 99);
    expect(s.pending.get("a")).toEqual([T0]);
  });
});

describe("tried instances", () => {
  it("are never picked again for the same request, marked or not", () => {
    const s = state();
    markDown(s, "c", T0);
    expect(picks(s, 5, T0 + 1, new Set(["a"]))).toEqual(["b", "b", "b", "b", "b"]);
    expect(picks(s, 2, T0 + 1, new Set(["a", "b"]))).toEqual(["c", "c"]);
    expect(pickLocal(s, new Set(["a", "b", "c"]), T0 + 1, STALL_MS)).toBeUndefined();
  });

  it("leave the untried count a retry may use", () => {
    const s = state();
    expect(untriedCount(s, undefined)).toBe(3);
    expect(untriedCount(s, new Set(["a", "zz"]))).toBe(2);
  });
});

describe("adopting a snapshot", () => {
  it("keeps marks on the same version and across a new one for instances that stay routable", () => {
    const s = state();
    markDown(s, "a", T0);
    adoptSnapshot(s, snapshot(["a", "b", "c"], 1), "coordinator", T0 + 10);
    expect(s.marks.has("a")).toBe(true);
    adoptSnapshot(s, null, "coordinator", T0 + 20);
    expect(s.marks.has("a")).toBe(true);
    expect(s.fetchedAt).toBe(T0 + 20);
    // Version 2 is about c leaving: the coordinator has said nothing about a, so the mark stands.
    adoptSnapshot(s, snapshot(["a", "b"], 2), "coordinator", T0 + 30);
    expect(s.marks.get("a")).toEqual({ until: T0 + LOCAL_MARK_BASE_MS, strikes: 1 });
    expect(s.snapshot.version).toBe(2);
    expect(s.confirmedAt).toBe(T0 + 30);
    expect(picks(s, 4, T0 + 40)).toEqual(["b", "b", "b", "b"]);
    // ...and runs out on its own.
    expect(picks(s, 2, T0 + LOCAL_MARK_BASE_MS).sort()).toEqual(["a", "b"]);
  });

  it("drops the mark of an instance that left the routable set or came back into it: the coordinator has judged it", () => {
    const s = state();
    markDown(s, "a", T0);
    markDown(s, "b", T0);
    adoptSnapshot(s, snapshot(["b", "c"], 2), "coordinator", T0 + 10);
    expect(s.marks.has("a")).toBe(false);
    expect(s.marks.has("b")).toBe(true);
    // A mark made while a was out (a try that began on the older snapshot failed late)...
    markDown(s, "a", T0 + 15);
    markDown(s, "c", T0 + 20);
    // ...goes when a comes back (recovered at the coordinator): routable at once, with no strike left over.
    adoptSnapshot(s, snapshot(["a", "b", "c"], 3), "coordinator", T0 + 30);
    expect(s.marks.has("a")).toBe(false);
    expect([...s.marks.keys()].sort()).toEqual(["b", "c"]);
    expect(picks(s, 1, T0 + 40)).toEqual(["a"]);
  });

  it("always replaces a KV snapshot (it carries no version) and does not count it as the coordinator answering", () => {
    const s = state();
    markDown(s, "a", T0);
    adoptSnapshot(s, snapshot(["x"], -1), "kv", T0 + 10);
    expect(s.source).toBe("kv");
    expect(s.snapshot.instances.map((i) => i.id)).toEqual(["x"]);
    expect(s.marks.size).toBe(0);
    expect(s.confirmedAt).toBe(T0);
    // KV's mirror knows no health: its next copy must not undo what this isolate saw fail.
    markDown(s, "x", T0 + 11);
    adoptSnapshot(s, snapshot(["x"], -1), "kv", T0 + 20);
    expect(s.marks.has("x")).toBe(true);
  });

  it("replaces the snapshot when the coordinator answers again after KV, even at an equal version", () => {
    const s = state();
    adoptSnapshot(s, snapshot(["x"], -1), "kv", T0 + 10);
    adoptSnapshot(s, snapshot(["a", "b"], -1), "coordinator", T0 + 20);
    expect(s.source).toBe("coordinator");
    expect(s.snapshot.instances.map((i) => i.id)).toEqual(["a", "b"]);
  });
});

describe("balancer kind", () => {
  it("starts each new rotation at an offset drawn from the injected random source", () => {
    const random = seededRandom(42);
    const expected = Math.floor(seededRandom(42)() * 1024) % 3;
    const s = newLocalServiceState(snapshot(["a", "b", "c"]), "coordinator", "round_robin", T0, random);
    expect(pickLocal(s, undefined, T0, STALL_MS)?.id).toBe(["a", "b", "c"][expected]);
  });

  it("a kind change swaps the balancer but keeps marks and tries in flight", () => {
    const s = state();
    markDown(s, "a", T0);
    tryStarted(s, "b", T0);
    const before = s.balancer;
    useBalancerKind(s, "round_robin", () => 0);
    expect(s.balancer).toBe(before);
    useBalancerKind(s, "weighted_round_robin", () => 0);
    expect(s.balancer).not.toBe(before);
    expect(s.balancerConfig).toBe("weighted_round_robin");
    expect(s.marks.has("a")).toBe(true);
    expect(s.pending.get("b")).toEqual([T0]);
  });
});
