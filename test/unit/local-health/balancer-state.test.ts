import { describe, expect, it } from "vitest";
import { markDown, pickLocal, recordLatency, tryStarted } from "../../../src/core/local-health/local-pick.js";
import { adoptSnapshot, newLocalServiceState, useBalancerKind } from "../../../src/core/local-health/local-service-state.js";
import { snapshot, STALL_MS, T0 } from "./fixtures.js";
import { seededRandom } from "../seeded-random.js";



describe("local state with the new balancers", () => {
  it("hash kinds: a marked instance's keys go elsewhere while the mark lasts, then come home", () => {
    const s = newLocalServiceState(snapshot(["a", "b", "c"]), "coordinator", { kind: "maglev", hashOn: "path" }, T0, seededRandom(1));
    const keys = Array.from({ length: 60 }, (_, i) => `/item/${i}`);
    const home = keys.map((k) => pickLocal(s, undefined, T0, STALL_MS, k)?.id);
    const onA = keys.filter((_, i) => home[i] === "a");
    expect(onA.length).toBeGreaterThan(0);
    markDown(s, "a", T0);
    for (const k of onA) expect(pickLocal(s, undefined, T0 + 1, STALL_MS, k)?.id).not.toBe("a");
    // Keys on other hosts do not move because "a" is marked.
    keys.forEach((k, i) => {
      if (home[i] !== "a") expect(pickLocal(s, undefined, T0 + 1, STALL_MS, k)?.id).toBe(home[i]);
    });
    expect(keys.map((k) => pickLocal(s, undefined, T0 + 60_000, STALL_MS, k)?.id)).toEqual(home);
  });

  it("hash kinds: a retry excludes the tried instance even while another is marked", () => {
    const s = newLocalServiceState(snapshot(["a", "b", "c"]), "coordinator", "ring_hash", T0, seededRandom(1));
    markDown(s, "a", T0);
    for (let i = 0; i < 30; i++) {
      const first = pickLocal(s, undefined, T0 + 1, STALL_MS, `k${i}`);
      const retry = pickLocal(s, new Set([first?.id ?? ""]), T0 + 1, STALL_MS, `k${i}`);
      expect(first?.id).not.toBe("a");
      expect(retry?.id).toBe(["b", "c"].find((id) => id !== first?.id));
    }
  });

  it("least_request: tries in flight from this isolate steer picks away", () => {
    const s = newLocalServiceState(snapshot(["a", "b"]), "coordinator", { kind: "least_request", choiceCount: 4 }, T0, seededRandom(2));
    for (let i = 0; i < 3; i++) tryStarted(s, "a", T0);
    let a = 0;
    for (let i = 0; i < 1000; i++) if (pickLocal(s, undefined, T0 + 1, STALL_MS)?.id === "a") a++;
    // "a" wins only when all four draws land on it: 1/16.
    expect(a).toBeLessThan(120);
  });

  it("peak_ewma: recorded latency reaches the balancer, and the latest latency is the load report's", () => {
    let now = T0;
    const s = newLocalServiceState(snapshot(["a", "b", "c"]), "coordinator", "peak_ewma", T0, seededRandom(3), () => now);
    for (const id of ["a", "b", "c"]) recordLatency(s, id, id === "a" ? 60 : 10, now);
    expect(s.load.latencyMs("a")).toBe(60);
    now += 5;
    const picked = Array.from({ length: 300 }, () => pickLocal(s, undefined, now, STALL_MS)?.id);
    expect(picked).not.toContain("a");
  });

  it("an equal balancer config from a reloaded route table keeps the balancer and its estimates; a different one replaces it", () => {
    const s = newLocalServiceState(snapshot(["a", "b"]), "coordinator", { kind: "peak_ewma", decayMs: 5000, defaultRttMs: 30 }, T0, seededRandom(4));
    const before = s.balancer;
    useBalancerKind(s, { kind: "peak_ewma", decayMs: 5000, defaultRttMs: 30 }, seededRandom(5));
    expect(s.balancer).toBe(before);
    useBalancerKind(s, { kind: "peak_ewma", decayMs: 9000, defaultRttMs: 30 }, seededRandom(5));
    expect(s.balancer).not.toBe(before);
    useBalancerKind(s, "ring_hash", seededRandom(5));
    expect(s.hashed).toBe(true);
  });

  it("forgets the latency of instances that left with the next snapshot", () => {
    const s = newLocalServiceState(snapshot(["a", "b"]), "coordinator", "peak_ewma", T0, seededRandom(6));
    recordLatency(s, "a", 5, T0);
    recordLatency(s, "b", 5, T0);
    adoptSnapshot(s, snapshot(["b"], 2), "coordinator", T0 + 1);
    expect([...s.latency.keys()]).toEqual(["b"]);
  });
});
