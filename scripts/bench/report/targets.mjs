// @ts-check
// The issue's targets, checked against one run's results. Each entry says what
// was measured and whether the target holds; a scenario that did not run (or
// failed) yields "not measured" rather than a pass.

/**
 * The parts of a run's result (the JSON `npm run bench` writes) that the
 * targets read. Every scenario is optional: one that did not run is absent.
 * @typedef {{ id: string, throughput: { rps: number | null, rpcsPer1000?: number }, rpsVsPassthrough: number | null, rpsVsHandRolled?: number | null, rpsVsGuarded?: number | null, rpsVsSnapshot?: number | null,
 *             cpuAddedUsPerRequest?: number | null, p50AddedMs: number | null }} SteadyRow
 * @typedef {{ kind: string, slowShare: number | null, p50: number | null, p99: number | null }} SlowOriginRow
 * @typedef {{ fault: string, clientErrors: number, lastToFaultyMs: number | null, restoreToTrafficMs: number | null }} FailoverRun
 * @typedef {{ pathOnly: number, hostAndPath: number }} NsPerLookup
 * @typedef {{
 *   steady?: { rows?: SteadyRow[], config?: { rounds?: number } },
 *   slow?: { rows?: SlowOriginRow[] },
 *   failover?: { runs?: FailoverRun[], restoreTargetMs: number },
 *   health?: { sizes?: { instances: number, roundDurationMs: number | null, fitsIn10s: boolean }[] },
 *   registry?: {
 *     routeMatch?: { routes: number, nsPerLookup: NsPerLookup, workerd?: { nsPerLookup: NsPerLookup } | null },
 *     services?: number, instancesPerService?: number,
 *     seeding?: { createMs?: { first: number | null, last: number | null, samples: number }, totalMs?: number, servicesMs?: number, workerdCpuMs?: { perHeartbeat?: number } },
 *   },
 *   bundle?: { asShipped?: { wranglerGzipKiB?: number | null, gzipBytes: number } },
 *   metrics?: { usAddedPerRequest: number },
 *   routers?: { rows?: RoutersRow[], failover?: Record<string, { lastRetryAfterKillMs: number | null, clientErrors: number } | undefined> },
 *   flow?: { rate: number, rateLimit?: RateLimitRow[], cpu?: { usAddedPerRequest: number } },
 * }} TargetInputs
 * @typedef {{ routers: number, sharing: string, snapshotRpcsPerSecond: number | null, reportRpcsPerSecond: number | null }} RoutersRow
 * @typedef {{ scope: string, factor: number, admittedPerSecond: number | null, errorPercent: number | null, tolerancePercent: number, withinTarget: boolean }} RateLimitRow
 * @typedef {{ scenario: string, target: string, measured: string, pass: boolean | null }} TargetCheck
 *   pass null: not measured, or too few rounds for a verdict.
 */

/** @param {number | null | undefined} v @param {number} [d] */
const fmt = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : Number(v).toFixed(d));

/**
 * Issue 13 §3: with the location's cached copy, "roughly 1" snapshot refresh per location per second.
 * Read as at most 2: the copy lives about a second, and two isolates whose copies lapse together both
 * refresh (the run with 8 routers measured 2.0, with 12 routers 1.75); N routers without it make N.
 */
export const SHARED_REFRESHES_PER_SECOND = 2;
/** The fewest routers that show the effect, as the issue asks (N ≥ 8). */
export const MIN_ROUTERS_FOR_VERDICT = 8;
/**
 * "Keep failover timing unchanged": with the copy, the last request that needed a retry after an origin
 * was killed may come at most this much later than without it. A quarter of the 1 s health interval the
 * scenario probes at, above the ±20 ms the two measurements move between runs here.
 */
export const FAILOVER_SLACK_MS = 250;

/** Fewer interleaved steady-state rounds than this (quick mode runs one) are a smoke run: ratios are shown without a verdict. */
export const MIN_ROUNDS_FOR_VERDICT = 3;

/**
 * Checks the issue's targets against one run's results.
 * @param {{ scenarios: TargetInputs }} r
 * @returns {TargetCheck[]}
 */
export function evaluateTargets(r) {
  /** @type {TargetCheck[]} */
  const t = [];
  /** @param {string} scenario @param {string} target @param {string} measured @param {boolean | null} pass */
  const add = (scenario, target, measured, pass) => {
    t.push({ scenario, target, measured, pass: measured === "not measured" ? null : pass });
  };
  const steady = r.scenarios.steady;
  if (steady?.rows) {
    const rows = steady.rows;
    /** @param {string} id */
    const row = (id) => rows.find((x) => x.id === id);
    const snap = row("snapshot");
    const strict = row("strict");
    const origin = row("origin");
    // A value the run could not produce (a missing row, a NaN ratio) is "not measured", never a pass or a miss.
    /** @param {number | null | undefined} v */
    const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
    /** @typedef {(target: string, value: number | null, text: string, pass: (v: number) => boolean) => void} Check */
    /** @type {Check} */
    const check = (target, value, text, pass) => {
      add("1 steady", target, value === null ? "not measured" : text, value !== null && pass(value));
    };
    // One noisy round on a shared machine can swing a ratio by a third either way (a quick
    // run measured snapshot mode at 1.12× the pass-through): too few rounds give no verdict.
    const rounds = steady.config?.rounds ?? 0;
    const judged = rounds >= MIN_ROUNDS_FOR_VERDICT;
    /** @type {Check} */
    const ratio = (target, value, text, pass) => {
      if (judged || value === null) {
        check(target, value, text, pass);
        return;
      }
      t.push({ scenario: "1 steady", target, measured: `${text} (${rounds} round${rounds === 1 ? "" : "s"}: no verdict)`, pass: null });
    };
    const snapRatio = num(snap?.rpsVsPassthrough);
    const p50Added = num(snap?.p50AddedMs);
    const strictRatio = num(strict?.rpsVsPassthrough);
    const originRps = num(origin?.throughput.rps);
    const snapRps = num(snap?.throughput.rps);
    const headroom = originRps === null || snapRps === null || snapRps <= 0 ? null : originRps / snapRps;
    ratio("snapshot req/s ≥ 0.95× pass-through", snapRatio, `${fmt(snapRatio, 3)}×`, (v) => v >= 0.95);
    ratio("snapshot p50 added ≤ 0.2 ms (1 connection)", p50Added, `${fmt(p50Added, 3)} ms`, (v) => v <= 0.2);
    // Issue 13 §1: the mesh against a correct proxy (the hand-rolled failover Worker), and what it adds to a bare one.
    const snapVsHandRolled = num(snap?.rpsVsHandRolled);
    const cpuAdded = num(snap?.cpuAddedUsPerRequest);
    ratio("snapshot × hand-rolled failover Worker ≥ 0.95 (req/s, paired per round)", snapVsHandRolled, `${fmt(snapVsHandRolled, 3)}×`, (v) => v >= 0.95);
    ratio("snapshot CPU added over the pass-through ≤ 60 µs/request", cpuAdded, `${fmt(cpuAdded, 1)} µs`, (v) => v <= 60);
    // Not a target: the same ratio against a hand-rolled Worker that pays for issue 9's body guard too.
    const snapVsGuarded = num(snap?.rpsVsGuarded);
    if (snapVsGuarded !== null) t.push({ scenario: "1 steady", target: "(reported) snapshot × hand-rolled + body guard (req/s, paired per round)", measured: `${fmt(snapVsGuarded, 3)}×`, pass: null });
    ratio("snapshot p50 added ≤ 0.1 ms (1 connection; issue 13)", p50Added, `${fmt(p50Added, 3)} ms`, (v) => v <= 0.1);
    ratio("strict req/s ≥ 0.75× pass-through", strictRatio, `${fmt(strictRatio, 3)}×`, (v) => v >= 0.75);
    // Issue 13 §2: strict mode by leased rotation slots, against snapshot mode in the same run.
    const strictVsSnap = num(strict?.rpsVsSnapshot);
    const strictRpcs = num(strict?.throughput.rpcsPer1000);
    ratio(
      "strict (leased slots) req/s ≥ 0.90× snapshot mode (paired per round)",
      strictVsSnap,
      `${fmt(strictVsSnap, 3)}× (${fmt(strictRpcs, 2)} coordinator RPCs per 1,000 requests)`,
      (v) => v >= 0.9,
    );
    check("generator vs origin ≥ several× the mesh (we ask 3×)", headroom, `${fmt(headroom, 1)}×`, (v) => v >= 3);
  } else {
    add("1 steady", "snapshot ≥ 0.95×, p50 +≤ 0.2 ms, strict ≥ 0.75×", "not measured", null);
  }
  const slow = r.scenarios.slow;
  if (slow?.rows) {
    // Issue 10: with one of three origins 50 ms slower, peak_ewma keeps traffic off it.
    const ewma = slow.rows.find((x) => x.kind === "peak_ewma");
    const rr = slow.rows.find((x) => x.kind === "round_robin");
    const share = ewma?.slowShare ?? null;
    const p99Ratio = ewma?.p99 !== null && ewma?.p99 !== undefined && rr?.p99 ? ewma.p99 / rr.p99 : null;
    add("7 slow origin", "peak_ewma sends ≤ 10% of requests to the slow origin", share === null ? "not measured" : `${fmt(share * 100, 1)}%`, share !== null && share <= 0.1);
    add("7 slow origin", "peak_ewma p99 ≤ 0.5× round_robin's p99 (same run)", p99Ratio === null ? "not measured" : `${fmt(p99Ratio, 2)}× (${fmt(ewma?.p99, 1)} vs ${fmt(rr?.p99, 1)} ms)`, p99Ratio !== null && p99Ratio <= 0.5);
  } else add("7 slow origin", "peak_ewma ≤ 10% to the slow origin, p99 ≤ 0.5× round_robin", "not measured", null);
  const fo = r.scenarios.failover;
  if (fo?.runs) {
    for (const run of fo.runs) {
      add("2 failover", `${run.fault}: 0 client errors (GET)`, String(run.clientErrors), run.clientErrors === 0);
      add("2 failover", `${run.fault}: last request to the faulty origin ≤ 1 s after the fault`, `${fmt(run.lastToFaultyMs, 0)} ms`, run.lastToFaultyMs !== null && run.lastToFaultyMs <= 1000);
      add("2 failover", `${run.fault}: traffic again ≤ ${fo.restoreTargetMs} ms after restore`, `${fmt(run.restoreToTrafficMs, 0)} ms`, run.restoreToTrafficMs !== null && run.restoreToTrafficMs <= fo.restoreTargetMs);
    }
  } else add("2 failover", "0 errors, ≤ 1 s to stop, restore ≤ target", "not measured", null);
  const hs = r.scenarios.health;
  if (hs?.sizes) {
    const biggest = hs.sizes.at(-1);
    if (biggest === undefined) add("3 health", "one round < 10 s", "not measured", null);
    else add("3 health", `one alarm round over ${biggest.instances} instances < 10 s`, `${fmt(biggest.roundDurationMs, 0)} ms`, biggest.fitsIn10s);
  } else add("3 health", "one round < 10 s", "not measured", null);
  const reg = r.scenarios.registry;
  if (reg?.routeMatch) {
    const all = [reg.routeMatch.nsPerLookup.pathOnly, reg.routeMatch.nsPerLookup.hostAndPath, reg.routeMatch.workerd?.nsPerLookup.pathOnly, reg.routeMatch.workerd?.nsPerLookup.hostAndPath];
    const worst = Math.max(...all.filter((v) => typeof v === "number"));
    add("4 registry", `route match < 5 µs at ${reg.routeMatch.routes} routes (worst of Node and workerd)`, `${fmt(worst / 1000, 3)} µs`, worst < 5000);
  } else add("4 registry", "route match < 5 µs", "not measured", null);
  // Issue 13 §4. "No more than" the 10th, read with a 25% allowance for this machine's noise (medians of 10 timed creates each).
  const create = reg?.seeding?.createMs;
  if (create && typeof create.first === "number" && typeof create.last === "number") {
    add("13 §4 O(1) changes", `creating service ${reg?.services ?? 0} costs no more than service ${create.samples} (≤ 1.25×, medians)`, `${fmt(create.last, 1)} ms vs ${fmt(create.first, 1)} ms`, create.last <= create.first * 1.25);
  } else add("13 §4 O(1) changes", "creating the 1,000th service costs no more than the 10th", "not measured", null);
  const total = reg?.seeding?.totalMs;
  if (typeof total === "number" && (reg?.services ?? 0) >= 1000) {
    add("13 §4 O(1) changes", `seeding ${reg?.services ?? 0} services × ${reg?.instancesPerService ?? 0} instances < 30 s`, `${fmt(total / 1000, 1)} s`, total < 30_000);
  } else add("13 §4 O(1) changes", "seeding 1,000 × 10 < 30 s", "not measured", null);
  // Not a target: the seeding as it would be if a registration cost no more than a heartbeat
  // (a KV read and one SQLite write, no KV write). Seeding is CPU-bound on one workerd thread, so
  // heartbeat CPU × registrations is the instances' time at that price.
  const perHeartbeat = reg?.seeding?.workerdCpuMs?.perHeartbeat;
  const servicesMs = reg?.seeding?.servicesMs;
  if (typeof total === "number" && typeof perHeartbeat === "number" && typeof servicesMs === "number" && (reg?.services ?? 0) >= 1000) {
    const registrations = (reg?.services ?? 0) * (reg?.instancesPerService ?? 0);
    t.push({
      scenario: "13 §4 O(1) changes",
      target: `(reported) seeding with each registration at a heartbeat's CPU (services' time + ${registrations} × ${fmt(perHeartbeat, 2)} ms)`,
      measured: `${fmt((servicesMs + registrations * perHeartbeat) / 1000, 1)} s`,
      pass: null,
    });
  }
  const b = r.scenarios.bundle;
  if (b?.asShipped) {
    const kib = (b.asShipped.wranglerGzipKiB ?? b.asShipped.gzipBytes / 1024);
    add("6 bundle", "gzipped bundle ≤ 100 KiB (as shipped)", `${fmt(kib, 1)} KiB`, kib <= 100);
  } else add("6 bundle", "≤ 100 KiB gzipped", "not measured", null);
  routerTargets(r.scenarios.routers, add, t);
  flowTargets(r.scenarios.flow, add);
  const m = r.scenarios.metrics;
  if (m) add("7 metrics", "CPU added per request with metrics on ≤ 10 µs (workerd microbenchmark)", `${fmt(m.usAddedPerRequest, 2)} µs`, m.usAddedPerRequest <= 10);
  else add("7 metrics", "≤ 10 µs per request", "not measured", null);
  return t;
}

/**
 * Issue 13 §3: coordinator snapshot RPCs as the routers of one location grow, with and without the
 * location's cached copy, and failover timing with the copy against without it.
 * @param {TargetInputs["routers"]} routers
 * @param {(scenario: string, target: string, measured: string, pass: boolean | null) => void} add
 * @param {TargetCheck[]} t
 */
function routerTargets(routers, add, t) {
  const scenario = "8 routers (13 §3)";
  const rows = routers?.rows ?? [];
  const shared = rows.filter((x) => x.sharing === "cache" && typeof x.snapshotRpcsPerSecond === "number");
  const most = shared.reduce((n, x) => Math.max(n, x.routers), 0);
  if (shared.length === 0) {
    add(scenario, `snapshot RPCs/s with ${MIN_ROUTERS_FOR_VERDICT}+ routers in one location ≤ ${SHARED_REFRESHES_PER_SECOND} with the location copy`, "not measured", null);
  } else {
    // Flat in N: the worst of every router count, not only the largest.
    const worst = Math.max(...shared.map((x) => Number(x.snapshotRpcsPerSecond)));
    const unshared = rows.find((x) => x.sharing === "off" && x.routers === most)?.snapshotRpcsPerSecond;
    const counts = shared.map((x) => x.routers).join(", ");
    const measured = `${fmt(worst, 2)} at most, over ${counts} routers (without it: ${fmt(unshared, 2)} at ${most})`;
    const target = `snapshot RPCs/s with ${Math.min(...shared.map((x) => x.routers))}–${most} routers in one location ≤ ${SHARED_REFRESHES_PER_SECOND} with the location copy (about 1, not N)`;
    if (most < MIN_ROUTERS_FOR_VERDICT) t.push({ scenario, target, measured: `${measured} (fewer than ${MIN_ROUTERS_FOR_VERDICT} routers: no verdict)`, pass: null });
    else add(scenario, target, measured, worst <= SHARED_REFRESHES_PER_SECOND);
    const reports = rows.find((x) => x.sharing === "cache" && x.routers === most)?.reportRpcsPerSecond;
    if (typeof reports === "number") {
      t.push({ scenario, target: `(reported) outcome report RPCs/s at ${most} routers (bounded per isolate, not per request)`, measured: `${fmt(reports, 2)} (${fmt(reports / most, 2)} per router)`, pass: null });
    }
  }
  const off = routers?.failover?.off;
  const cache = routers?.failover?.cache;
  const target = `failover with the location copy: 0 client errors, last retry after a kill ≤ ${FAILOVER_SLACK_MS} ms later than without it`;
  if (!off || !cache || typeof off.lastRetryAfterKillMs !== "number" || typeof cache.lastRetryAfterKillMs !== "number") {
    add(scenario, target, "not measured", null);
    return;
  }
  add(
    scenario,
    target,
    `${fmt(cache.lastRetryAfterKillMs, 0)} ms vs ${fmt(off.lastRetryAfterKillMs, 0)} ms; ${cache.clientErrors} and ${off.clientErrors} errors`,
    cache.clientErrors === 0 && off.clientErrors === 0 && cache.lastRetryAfterKillMs <= off.lastRetryAfterKillMs + FAILOVER_SLACK_MS,
  );
}

/**
 * Flow control: the rate limit admits its rate, within the tolerance of its scope, at 2× and 4× overload;
 * and one isolate-scoped limit's CPU per request.
 * @param {TargetInputs["flow"]} flow
 * @param {(scenario: string, target: string, measured: string, pass: boolean | null) => void} add
 */
function flowTargets(flow, add) {
  const rows = flow?.rateLimit ?? [];
  if (rows.length === 0) add("9 flow", "rate limit admits its rate at 2× and 4× overload (isolate ±5 %, global ±10 %)", "not measured", null);
  for (const x of rows) {
    add(
      "9 flow",
      `rate limit, ${x.scope} scope, at ${x.factor}× overload admits ${flow?.rate ?? "its"}/s ± ${x.tolerancePercent} %`,
      x.admittedPerSecond === null ? "not measured" : `${fmt(x.admittedPerSecond, 1)}/s (${x.errorPercent === null ? "n/a" : `${x.errorPercent >= 0 ? "+" : ""}${fmt(x.errorPercent, 1)}`} %)`,
      x.withinTarget,
    );
  }
  const cpu = flow?.cpu?.usAddedPerRequest;
  if (typeof cpu === "number") add("9 flow", "CPU added per request by one isolate limit ≤ 10 µs (workerd microbenchmark)", `${fmt(cpu, 2)} µs`, cpu <= 10);
  else add("9 flow", "CPU added per request by one isolate limit ≤ 10 µs", "not measured", null);
}
