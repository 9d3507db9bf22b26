import { describe, expect, it } from "vitest";
import { evaluateTargets, FAILOVER_SLACK_MS, MIN_ROUNDS_FOR_VERDICT, MIN_ROUTERS_FOR_VERDICT, SHARED_REFRESHES_PER_SECOND } from "../../../scripts/bench/report/targets.mjs";

const steadyRow = (id: string, rps: number, ratio: number, p50Added: number | null = null) => ({
  id,
  throughput: { rps },
  rpsVsPassthrough: ratio,
  p50AddedMs: p50Added,
});

describe("evaluateTargets", () => {
  it("says 'not measured' with no verdict for scenarios that did not run", () => {
    const checks = evaluateTargets({ scenarios: {} });
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) {
      expect(c.measured).toBe("not measured");
      expect(c.pass).toBeNull();
    }
  });

  it("judges the steady-state ratios at their thresholds", () => {
    const checks = evaluateTargets({
      scenarios: {
        steady: {
          config: { rounds: 5 },
          rows: [steadyRow("origin", 60_000, 20), steadyRow("snapshot", 2_000, 0.95, 0.2), steadyRow("strict", 1_500, 0.749)],
        },
      },
    });
    const verdict = (prefix: string) => checks.find((c) => c.target.startsWith(prefix))?.pass;
    expect(verdict("snapshot req/s")).toBe(true);
    expect(verdict("snapshot p50 added")).toBe(true);
    expect(verdict("strict req/s")).toBe(false);
    expect(verdict("generator vs origin")).toBe(true);
  });

  it("judges issue 13's targets against the hand-rolled Worker and the pass-through at their thresholds", () => {
    const snap = (vsHandRolled: number, cpuAdded: number, p50Added: number) => ({ ...steadyRow("snapshot", 2_000, 0.9, p50Added), rpsVsHandRolled: vsHandRolled, cpuAddedUsPerRequest: cpuAdded });
    const verdicts = (row: ReturnType<typeof snap>) => {
      const checks = evaluateTargets({ scenarios: { steady: { config: { rounds: 5 }, rows: [row] } } });
      return ["snapshot × hand-rolled", "snapshot CPU added", "snapshot p50 added ≤ 0.1 ms"].map((p) => checks.find((c) => c.target.startsWith(p))?.pass);
    };
    expect(verdicts(snap(0.95, 60, 0.1))).toEqual([true, true, true]);
    expect(verdicts(snap(0.949, 60.1, 0.101))).toEqual([false, false, false]);
    // Rows from runs before the hand-rolled row existed have no ratio to it: not measured, no verdict.
    const old = evaluateTargets({ scenarios: { steady: { config: { rounds: 5 }, rows: [steadyRow("snapshot", 2_000, 0.9, 0.1)] } } });
    expect(old.find((c) => c.target.startsWith("snapshot × hand-rolled"))).toMatchObject({ measured: "not measured", pass: null });
  });

  it("reports the mesh against the hand-rolled Worker with the body guard, with no verdict, only when the run measured it", () => {
    const row = { ...steadyRow("snapshot", 2_000, 0.9, 0.1), rpsVsHandRolled: 0.82, rpsVsGuarded: 0.861 };
    const checks = evaluateTargets({ scenarios: { steady: { config: { rounds: 5 }, rows: [row] } } });
    expect(checks.find((c) => c.target.includes("body guard"))).toMatchObject({ measured: "0.861×", pass: null });
    // The target against the plain hand-rolled Worker is still judged as before.
    expect(checks.find((c) => c.target.startsWith("snapshot × hand-rolled"))?.pass).toBe(false);
    const before = evaluateTargets({ scenarios: { steady: { config: { rounds: 5 }, rows: [steadyRow("snapshot", 2_000, 0.9, 0.1)] } } });
    expect(before.some((c) => c.target.includes("body guard"))).toBe(false);
  });

  it("judges the seeding against 30 s and reports, without a verdict, what it would take at a heartbeat's CPU per registration", () => {
    const registry = (workerdCpuMs?: { perHeartbeat?: number }) => ({
      services: 1000,
      instancesPerService: 10,
      seeding: { createMs: { first: 15.6, last: 17.2, samples: 10 }, servicesMs: 8_200, totalMs: 56_500, ...(workerdCpuMs === undefined ? {} : { workerdCpuMs }) },
    });
    const checks = evaluateTargets({ scenarios: { registry: registry({ perHeartbeat: 2.31 }) } });
    const o1 = checks.filter((c) => c.scenario === "13 §4 O(1) changes");
    expect(o1.find((c) => c.target.startsWith("creating service 1000"))).toMatchObject({ measured: "17.2 ms vs 15.6 ms", pass: true });
    expect(o1.find((c) => c.target.startsWith("seeding 1000 services"))).toMatchObject({ measured: "56.5 s", pass: false });
    // 8.2 s of services + 10,000 × 2.31 ms = 31.3 s.
    expect(o1.find((c) => c.target.startsWith("(reported) seeding with each registration at a heartbeat's CPU"))).toMatchObject({ measured: "31.3 s", pass: null });
    // Runs from before the comparison calls existed have no such line.
    const older = evaluateTargets({ scenarios: { registry: registry({}) } });
    expect(older.some((c) => c.target.startsWith("(reported) seeding"))).toBe(false);
    // Nor does a quick run (100 services), which the 30 s target does not judge either.
    const quick = evaluateTargets({ scenarios: { registry: { ...registry({ perHeartbeat: 2.31 }), services: 100 } } });
    expect(quick.some((c) => c.target.startsWith("(reported) seeding"))).toBe(false);
  });

  it("judges the slow-origin scenario: peak_ewma's share and its p99 against round_robin's", () => {
    const run = (share: number, ewmaP99: number) =>
      evaluateTargets({
        scenarios: {
          slow: {
            rows: [
              { kind: "round_robin", slowShare: 0.333, p50: 2, p99: 60 },
              { kind: "peak_ewma", slowShare: share, p50: 2, p99: ewmaP99 },
            ],
          },
        },
      }).filter((c) => c.scenario === "7 slow origin");
    expect(run(0.1, 30).map((c) => c.pass)).toEqual([true, true]);
    expect(run(0.101, 30.1).map((c) => c.pass)).toEqual([false, false]);
    const missing = evaluateTargets({ scenarios: { slow: { rows: [{ kind: "round_robin", slowShare: 0.333, p50: 2, p99: 60 }] } } }).filter((c) => c.scenario === "7 slow origin");
    expect(missing.map((c) => c.pass)).toEqual([null, null]);
  });

  it("does not crash, or pass, when a steady row is missing", () => {
    const checks = evaluateTargets({ scenarios: { steady: { config: { rounds: 5 }, rows: [steadyRow("snapshot", 2_000, 0.96, 0.1)] } } });
    const strict = checks.find((c) => c.target.startsWith("strict req/s"));
    expect(strict).toMatchObject({ measured: "not measured", pass: null });
    expect(checks.find((c) => c.target.startsWith("generator"))?.pass).toBeNull();
    expect(checks.find((c) => c.target.startsWith("snapshot req/s"))?.pass).toBe(true);
  });

  it("gives a quick run's single-round ratios no verdict, but still judges the generator's headroom", () => {
    const checks = evaluateTargets({
      scenarios: {
        steady: {
          config: { rounds: 1 },
          rows: [steadyRow("origin", 60_000, 20), steadyRow("snapshot", 2_000, 1.119, 0.1), steadyRow("strict", 1_500, 0.5)],
        },
      },
    });
    const snapshot = checks.find((c) => c.target.startsWith("snapshot req/s"));
    expect(snapshot).toMatchObject({ measured: "1.119× (1 round: no verdict)", pass: null });
    expect(checks.find((c) => c.target.startsWith("strict req/s"))?.pass).toBeNull();
    expect(checks.find((c) => c.target.startsWith("generator"))?.pass).toBe(true);
  });

  it("judges from the minimum number of rounds on, not below it", () => {
    const at = (rounds: number) =>
      evaluateTargets({ scenarios: { steady: { config: { rounds }, rows: [steadyRow("snapshot", 2_000, 0.5, 0.1)] } } }).find((c) =>
        c.target.startsWith("snapshot req/s"),
      )?.pass;
    expect(MIN_ROUNDS_FOR_VERDICT).toBe(3);
    expect(at(2)).toBeNull();
    expect(at(3)).toBe(false);
  });

  it("says 'not measured' for the generator's headroom when a rate is missing", () => {
    const checks = evaluateTargets({
      scenarios: { steady: { config: { rounds: 5 }, rows: [{ ...steadyRow("origin", 0, 1), throughput: { rps: null } }, steadyRow("snapshot", 2_000, 0.9, 0.1)] } },
    });
    expect(checks.find((c) => c.target.startsWith("generator"))).toMatchObject({ measured: "not measured", pass: null });
  });

  it("fails a failover run that never saw the restored origin take traffic", () => {
    const checks = evaluateTargets({
      scenarios: { failover: { restoreTargetMs: 3_000, runs: [{ fault: "kill", clientErrors: 0, lastToFaultyMs: 0, restoreToTrafficMs: null }] } },
    });
    expect(checks.filter((c) => c.scenario === "2 failover").map((c) => c.pass)).toEqual([true, true, false]);
  });

  describe("issue 13 §3: coordinator load as routers grow", () => {
    const rows = (counts: number[], shared: (n: number) => number) =>
      counts.flatMap((n) => [
        { routers: n, sharing: "off", snapshotRpcsPerSecond: n, reportRpcsPerSecond: 0.9 * n },
        { routers: n, sharing: "cache", snapshotRpcsPerSecond: shared(n), reportRpcsPerSecond: 0.9 * n },
      ]);
    const failover = (cacheMs: number, offMs: number, cacheErrors = 0) => ({ cache: { lastRetryAfterKillMs: cacheMs, clientErrors: cacheErrors }, off: { lastRetryAfterKillMs: offMs, clientErrors: 0 } });
    const checks = (routers: Parameters<typeof evaluateTargets>[0]["scenarios"]["routers"]) => evaluateTargets({ scenarios: { routers } }).filter((c) => c.scenario.startsWith("8 routers"));
    const verdict = (list: ReturnType<typeof checks>, prefix: string) => list.find((c) => c.target.startsWith(prefix));

    it("passes when the shared refreshes stay at the bound for every router count, and fails when any count exceeds it", () => {
      const met = checks({ rows: rows([1, 2, 4, 8, 12], () => SHARED_REFRESHES_PER_SECOND), failover: failover(75, 72) });
      expect(verdict(met, "snapshot RPCs/s")).toMatchObject({ pass: true, measured: "2.00 at most, over 1, 2, 4, 8, 12 routers (without it: 12.00 at 12)" });
      // Flat in N: one router count over the bound is a miss, even when the largest is under it.
      const missed = checks({ rows: rows([1, 2, 4, 8, 12], (n) => (n === 4 ? SHARED_REFRESHES_PER_SECOND + 0.01 : 1)), failover: failover(75, 72) });
      expect(verdict(missed, "snapshot RPCs/s")?.pass).toBe(false);
      // Refreshes growing with N (no sharing at all) miss.
      expect(verdict(checks({ rows: rows([1, 8], (n) => n) }), "snapshot RPCs/s")?.pass).toBe(false);
    });

    it("gives no verdict below the issue's N and reports outcome reports per router without one", () => {
      const few = checks({ rows: rows([1, MIN_ROUTERS_FOR_VERDICT - 1], () => 1) });
      expect(verdict(few, "snapshot RPCs/s")).toMatchObject({ pass: null });
      expect(verdict(few, "snapshot RPCs/s")?.measured).toContain("no verdict");
      expect(verdict(few, "(reported) outcome report")).toMatchObject({ pass: null, measured: "6.30 (0.90 per router)" });
    });

    it("judges failover with the location copy against without it, errors included", () => {
      expect(verdict(checks({ rows: rows([8], () => 1), failover: failover(72 + FAILOVER_SLACK_MS, 72) }), "failover")?.pass).toBe(true);
      expect(verdict(checks({ rows: rows([8], () => 1), failover: failover(73 + FAILOVER_SLACK_MS, 72) }), "failover")?.pass).toBe(false);
      expect(verdict(checks({ rows: rows([8], () => 1), failover: failover(10, 72, 1) }), "failover")?.pass).toBe(false);
      expect(verdict(checks({ rows: rows([8], () => 1) }), "failover")).toMatchObject({ measured: "not measured", pass: null });
    });
  });

  it("judges each rate-limit row at its own tolerance, and the limit's CPU at 10 µs", () => {
    const row = (scope: string, factor: number, errorPercent: number, tolerancePercent: number) => ({
      scope, factor, admittedPerSecond: 100 * (1 + errorPercent / 100), errorPercent, tolerancePercent, withinTarget: Math.abs(errorPercent) <= tolerancePercent,
    });
    const flow = evaluateTargets({ scenarios: { flow: { rate: 100, rateLimit: [row("isolate", 2, 0, 5), row("global", 4, -10.5, 10)], cpu: { usAddedPerRequest: 10.01 } } } }).filter((c) => c.scenario === "9 flow");
    expect(flow.map((c) => [c.measured, c.pass])).toEqual([
      ["100.0/s (+0.0 %)", true],
      ["89.5/s (-10.5 %)", false],
      ["10.01 µs", false],
    ]);
  });
});

