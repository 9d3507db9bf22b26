// @ts-check
// The scale model: pure arithmetic over the mesh's timings (constants.mjs) and
// a configuration. No I/O, no clock; run.mjs prints it, docs/scale.md explains it.
import { LIMITS, MESH } from "./constants.mjs";
import { isolateMemoryBytes, limitFlags, shardsNeeded } from "./limits.mjs";
import { claimWindowS, followerLagMs, sharedRefreshRate } from "./shared-refresh.mjs";
import { leasedSlotRate, pickBatchRate } from "./strict.mjs";

export { leaseBlockSize, leasedSlotRate, pickBatchRate } from "./strict.mjs";
export { sharedRefreshRate } from "./shared-refresh.mjs";

/**
 * One configuration: the deployment's size, its traffic and the service settings that drive the mesh's own calls.
 * @typedef {{ locations: number, isolatesPerLocation: number, rps: number, services: number,
 *             instancesPerService: number, healthIntervalS: number, leaseTtlS: number, doRttMs: number,
 *             instanceLifetimeH: number, failureRate: number, attempts: number, perTryTimeoutMs: number,
 *             probeTimeoutMs: number, unhealthyThreshold: number, consecutiveFailures: number,
 *             requestLogLines: number, requestLogSample: number, workersLogs: number, invocationLogs: number,
 *             logSampling: number, logpush: number, coordinatorLogpush: number }} ScaleInputs
 * @typedef {"snapshot" | "strict" | "sharedRefresh" | "leasedSlots"} Design
 * @typedef {{ snapshotRefresh: number, strictLeases: number, reports: number, heartbeats: number,
 *             registrations: number, sweep: number, total: number }} LoadByKind
 * @typedef {{ flushesPerS: number, reportsPerS: number, windowS: number, shareInFlush: number }} ReportRate
 * @typedef {{ serviceRps: number, perIsolateServiceRps: number, triesPerRequest: number, report: ReportRate,
 *             byDesign: Record<Design, LoadByKind> }} CoordinatorLoad
 * @typedef {{ reads: number, writes: number, deletes: number, lists: number, maxWritesPerKeyPerS: number,
 *             readsByKind: { routeIndex: number, auth: number, sweep: number } }} KvPerDay
 * @typedef {{ mean: number, servicesPerFlush: number, worst: number }} Subrequests
 * @typedef {{ subrequests: number, kvOps: number }} SweepCalls
 * @typedef {{ busyMs: number, busySharedMs: number, slowCoordinatorMs: number, unreachableMs: number }} Staleness
 * @typedef {{ localKillMs: number, localHangMs: number, passiveEjection: boolean, everywhereKillMs: number,
 *             everywhereHangMs: number, sharedExtraMs: number, idleServiceMs: number }} DeadOriginTimes
 * @typedef {{ inputs: ScaleInputs, load: CoordinatorLoad, kv: KvPerDay, subrequests: Record<Design, Subrequests>,
 *             staleness: Staleness, deadOrigin: DeadOriginTimes, isolateMemoryBytes: number, sweep: SweepCalls, flags: LimitFlag[],
 *             shards: Record<Design, number> }} ScaleModel
 * @typedef {import("./limits.mjs").LimitFlag} LimitFlag
 * @typedef {import("./limits.mjs").LimitInputs} LimitInputs
 * @typedef {import("./limits.mjs").LimitName} LimitName
 */

/** @type {Readonly<ScaleInputs>} */
export const DEFAULT_INPUTS = Object.freeze({
  locations: 300,
  isolatesPerLocation: 50,
  rps: 1_000_000,
  services: 1_000,
  instancesPerService: 10,
  healthIntervalS: 10,
  leaseTtlS: 30,
  doRttMs: 20,
  instanceLifetimeH: 24,
  failureRate: 0.001,
  attempts: 3,
  perTryTimeoutMs: 5_000,
  probeTimeoutMs: 2_000,
  unhealthyThreshold: 2,
  consecutiveFailures: 5,
  // As wrangler.toml ships: REQUEST_LOG = "json" (one line per proxied request), [observability] enabled with
  // head_sampling_rate unset (1), and logpush = true, which the analytics path (docs/analytics.md) assumes a job for.
  requestLogLines: 1,
  // REQUEST_LOG_SAMPLE = "0.1": a plain success's line with probability 0.1, every other line (requestLinesPerRequest below).
  requestLogSample: 0.1,
  workersLogs: 1,
  // [observability.logs] invocation_logs = false: the request line already says what an invocation log would.
  invocationLogs: 0,
  logSampling: 1,
  logpush: 1,
  // A Logpush job with no filter takes every trace event of the script, the coordinators' RPCs and alarms too.
  coordinatorLogpush: 1,
});

/**
 * The four ways the built code can run, each routing mode with its default and with the
 * default's switch off. The keys are the --json field names, kept from before both designs were built.
 * @type {readonly Design[]}
 */
export const DESIGNS = Object.freeze(["snapshot", "sharedRefresh", "strict", "leasedSlots"]);
/** @type {Readonly<Record<Design, string>>} */
export const DESIGN_LABELS = Object.freeze({
  snapshot: "snapshot (SNAPSHOT_SHARING=off)",
  sharedRefresh: "snapshot (default: shared refresh)",
  strict: "strict, per-pick batches (STRICT_LEASES=off)",
  leasedSlots: "strict (default: leased slots)",
});

/**
 * A value for every design, in DESIGNS order. Object.fromEntries cannot know
 * that DESIGNS names every Design, hence the one cast here.
 * @template T
 * @param {(design: Design) => T} f
 * @returns {Record<Design, T>}
 */
export function perDesign(f) {
  return /** @type {Record<Design, T>} */ (Object.fromEntries(DESIGNS.map((d) => [d, f(d)])));
}

/**
 * Request lines written per client request. REQUEST_LOG_SAMPLE = p writes a
 * plain success's line with probability p and every other request's always
 * (src/core/events/log-sample.ts). A request is not a plain success when its
 * first try failed, which the model puts at `failureRate`; the mesh's own
 * refusals (no route, rate limited, shed) are not modelled, and would add
 * their share to the lines kept.
 * @param {Pick<ScaleInputs, "requestLogLines" | "requestLogSample" | "failureRate">} c
 */
export function requestLinesPerRequest(c) {
  const p = c.requestLogSample;
  return c.requestLogLines * (p + (1 - p) * c.failureRate);
}

/**
 * Rate of a refresh that a request starts once the held copy is `ttlS` old:
 * it completes `latencyS` later, and the next one waits for the first request
 * after the following expiry (Poisson arrivals at `lambda`, so 1/lambda on average).
 * @param {number} ttlS @param {number} latencyS @param {number} lambda
 */
export function requestDrivenRefreshRate(ttlS, latencyS, lambda) {
  if (lambda <= 0) return 0;
  return 1 / (ttlS + latencyS + 1 / lambda);
}

/**
 * Outcome reports from one isolate to one service's coordinator (outcome-reporter.ts).
 * Successes: the first outcome opens a window of FLUSH_DELAY; outcomes are folded into
 * one report per instance, so nothing cuts the window short whatever the isolate's rate.
 * The flush sends one RPC per service with outcomes in it.
 * Failures: flushed within URGENT_GAP, so at most 1/URGENT_GAP extra flushes per second.
 * @param {number} serviceTriesPerS this service's tries in this isolate
 * @param {number} isolateTriesPerS all services' tries in this isolate
 * @param {number} failureRate share of tries that fail
 * @returns {ReportRate}
 */
export function reportRate(serviceTriesPerS, isolateTriesPerS, failureRate) {
  if (serviceTriesPerS <= 0 || isolateTriesPerS <= 0) return { flushesPerS: 0, reportsPerS: 0, windowS: 0, shareInFlush: 0 };
  const windowS = MESH.reportFlushMs / 1000;
  const flushesPerS = 1 / (windowS + 1 / isolateTriesPerS);
  // The flush carries this service if it opened the window or had an outcome during it.
  const opened = serviceTriesPerS / isolateTriesPerS;
  const shareInFlush = 1 - (1 - opened) * Math.exp(-serviceTriesPerS * windowS);
  const urgent = Math.min(serviceTriesPerS * failureRate, 1000 / MESH.reportUrgentGapMs);
  const reportsPerS = Math.min(flushesPerS * shareInFlush + urgent, serviceTriesPerS);
  return { flushesPerS, reportsPerS, windowS, shareInFlush };
}

/**
 * Expected tries per request: each failed try is retried, up to `attempts`.
 * @param {number} failureRate @param {number} attempts
 */
export function triesPerRequest(failureRate, attempts) {
  let tries = 0;
  for (let k = 0; k < attempts; k++) tries += failureRate ** k;
  return tries;
}

/**
 * Coordinator requests per second for ONE service, by kind, in each design.
 * Traffic is spread evenly: every isolate serves every service (the worst case for
 * fan-in, and what a global anycast front end tends towards for busy services).
 * @param {ScaleInputs} c
 * @returns {CoordinatorLoad}
 */
export function coordinatorLoad(c) {
  const isolates = c.locations * c.isolatesPerLocation;
  const serviceRps = c.rps / c.services;
  const tries = triesPerRequest(c.failureRate, c.attempts);
  const perIsolate = serviceRps / isolates;
  const isolateTries = (c.rps / isolates) * tries;
  const rttS = c.doRttMs / 1000;
  const ttlS = MESH.snapshotTtlMs / 1000;
  const report = reportRate(perIsolate * tries, isolateTries, c.failureRate);
  const reports = isolates * report.reportsPerS;
  const heartbeats = (c.instancesPerService * MESH.heartbeatsPerLease) / c.leaseTtlS;
  // Each instance registers once and deregisters once per lifetime.
  const registrations = (2 * c.instancesPerService) / (c.instanceLifetimeH * 3600);
  // Past one run's slice, each coordinator is swept every ⌈services / slice⌉ runs (src/sweep/sweep.ts).
  const sweep = MESH.sweepRpcsPerService / (MESH.sweepPeriodS * Math.ceil(c.services / sweepSliceFor(c.services)));
  const snapshotRefresh = isolates * requestDrivenRefreshRate(ttlS, rttS, perIsolate);
  // One isolate per location claims the refresh, asks and leaves a Cache API copy; the others adopt it (shared-refresh.mjs).
  const windowS = claimWindowS({ rttS, cacheOpS: MESH.cacheOpMs / 1000, settleS: MESH.claimSettleMs / 1000 });
  const sharedRefresh =
    c.locations *
    sharedRefreshRate({ isolates: c.isolatesPerLocation, rate: perIsolate, ttlS, spreadS: MESH.shareSpreadMs / 1000, windowS }).rpcsPerS;
  const strictPicks = isolates * pickBatchRate(perIsolate * tries, rttS, MESH.maxPicksPerBatch);
  const leased = isolates * leasedSlotRate(perIsolate * tries);
  const common = { reports, heartbeats, registrations, sweep };
  /** @type {Record<Design, LoadByKind>} */
  const byDesign = {
    snapshot: withTotal({ snapshotRefresh, strictLeases: 0, ...common }),
    sharedRefresh: withTotal({ snapshotRefresh: sharedRefresh, strictLeases: 0, ...common }),
    // With STRICT_LEASES off strict mode holds no snapshot (src/edge/pick/pick.ts): every pick asks.
    strict: withTotal({ snapshotRefresh: 0, strictLeases: strictPicks, ...common }),
    // Leased slots keep the isolate's snapshot refreshing (shared, by default) to learn the version that voids them.
    leasedSlots: withTotal({ snapshotRefresh: sharedRefresh, strictLeases: leased, ...common }),
  };
  return { serviceRps, perIsolateServiceRps: perIsolate, triesPerRequest: tries, report, byDesign };
}

/**
 * @param {Omit<LoadByKind, "total">} k
 * @returns {LoadByKind}
 */
function withTotal(k) {
  return { ...k, total: k.snapshotRefresh + k.strictLeases + k.reports + k.heartbeats + k.registrations + k.sweep };
}

/**
 * Workers KV operations per day, whole mesh. Heartbeats never write KV, but the
 * API reads the service record to authenticate every control-plane call.
 * @param {ScaleInputs} c
 * @returns {KvPerDay}
 */
export function kvPerDay(c) {
  const day = 86_400;
  const isolates = c.locations * c.isolatesPerLocation;
  const isolateRps = c.rps / isolates;
  const routeReads = isolates * requestDrivenRefreshRate(MESH.routeTtlMs / 1000, 0, isolateRps);
  const instances = c.services * c.instancesPerService;
  const lifetimeS = c.instanceLifetimeH * 3600;
  const heartbeats = (instances * MESH.heartbeatsPerLease) / c.leaseTtlS;
  const registrations = instances / lifetimeS;
  const deregistrations = instances / lifetimeS;
  const sweeps = day / MESH.sweepPeriodS;
  const authReads = heartbeats + registrations + deregistrations;
  const sweepReadsPerRun = c.services;
  const sweepListsPerRun = Math.ceil(c.services / MESH.kvListPage) + c.services * Math.ceil(c.instancesPerService / MESH.kvListPage);
  return {
    reads: (routeReads + authReads) * day + sweepReadsPerRun * sweeps,
    writes: registrations * day + MESH.sweepKvWrites * sweeps,
    deletes: deregistrations * day,
    lists: sweepListsPerRun * sweeps,
    // The hottest key: `routes` and `sweep:last`, rewritten by every sweep; an instance key once per lifetime.
    maxWritesPerKeyPerS: Math.max(1 / MESH.sweepPeriodS, 1 / lifetimeS),
    readsByKind: { routeIndex: routeReads * day, auth: authReads * day, sweep: sweepReadsPerRun * sweeps },
  };
}

/**
 * Subrequests one client request causes: origin tries, strict pick RPCs, and the
 * background RPCs and KV reads its isolate makes from some request's waitUntil.
 * @param {ScaleInputs} c @param {Design} design
 * @returns {Subrequests}
 */
export function subrequests(c, design) {
  const load = coordinatorLoad(c);
  const isolates = c.locations * c.isolatesPerLocation;
  const isolateRps = c.rps / isolates;
  const d = load.byDesign[design];
  // With no traffic there is no request to charge background calls to.
  const perRequest = (/** @type {number} */ perS) => (isolateRps > 0 ? perS / isolateRps : 0);
  const background = ((d.snapshotRefresh + d.strictLeases + d.reports) * c.services) / isolates;
  const routeReads = requestDrivenRefreshRate(MESH.routeTtlMs / 1000, 0, isolateRps);
  const mean = load.triesPerRequest + perRequest(background + routeReads);
  // One flush sends one RPC per service with outcomes in it, all from one request's waitUntil.
  const servicesPerFlush = c.services * load.report.shareInFlush;
  const picksPerTry = design === "strict" || design === "leasedSlots" ? 1 : 0;
  // The unlucky request: every attempt fails over, it sends each pick RPC, a refresh, a route read and the flush for every service.
  const worst = c.attempts * (1 + picksPerTry) + 1 + 1 + c.services;
  return { mean, servicesPerFlush, worst };
}

/**
 * How old a snapshot can be when a request is routed from it.
 * @param {ScaleInputs} c
 * @returns {Staleness}
 */
export function staleness(c) {
  const ttl = MESH.snapshotTtlMs;
  return {
    // A busy isolate asks once the copy is TTL old and adopts the answer a round trip later.
    busyMs: ttl + c.doRttMs,
    // With the shared refresh the asker first claims, and the others adopt its copy at their next read of it.
    busySharedMs: ttl + sharedFollowerLagMs(c.doRttMs),
    // The refresh is given up after DO_TIMEOUT; the old copy is kept meanwhile.
    slowCoordinatorMs: ttl + MESH.doTimeoutMs,
    // Coordinator unreachable: the last answer is kept for KEEP_STALE, then the KV mirror takes over.
    // The shared refresh keeps all three: an adopted copy is aged from its fetch, and it is refreshed a lead early.
    unreachableMs: MESH.keepStaleMs,
  };
}

/**
 * Time until traffic to a dead origin stops. Locally, the isolate that sees the
 * failure marks it at once (kill) or avoids it once a try has waited a quarter of
 * perTryTimeoutMs (hang). Everywhere else, the coordinator must decide and every
 * isolate must refresh.
 * @param {ScaleInputs} c
 * @returns {DeadOriginTimes}
 */
export function deadOriginTimes(c) {
  const load = coordinatorLoad(c);
  const rtt = c.doRttMs;
  const ttl = MESH.snapshotTtlMs;
  // Failures reported within one urgent-report gap: each isolate marks the origin down after
  // its first failed try (snapshot-cache.ts markDown), so it contributes about one.
  const isolates = c.locations * c.isolatesPerLocation;
  const triesInGap = (load.serviceRps / c.instancesPerService) * (MESH.reportUrgentGapMs / 1000);
  const passive = Math.min(triesInGap, isolates) >= c.consecutiveFailures;
  // Passive ejection: consecutiveFailures failures reported within one urgent gap.
  // Active: the confirming probe and the following rounds until unhealthyThreshold failures.
  const activeKill = MESH.reportUrgentGapMs + rtt + (c.unhealthyThreshold - 1) * c.healthIntervalS * 1000;
  const activeHang = activeKill + c.probeTimeoutMs;
  const decideKill = passive ? MESH.reportUrgentGapMs + rtt : activeKill;
  const decideHang = passive ? c.perTryTimeoutMs + MESH.reportUrgentGapMs + rtt : activeHang;
  // With no traffic at all only the regular rounds notice.
  const idle = c.unhealthyThreshold * c.healthIntervalS * 1000 + c.probeTimeoutMs;
  return {
    localKillMs: 0,
    localHangMs: c.perTryTimeoutMs / 4,
    passiveEjection: passive,
    everywhereKillMs: decideKill + ttl + rtt,
    // The same with the shared refresh: the first isolate of a location to fall due after the decision asks,
    // no later than TTL after the last copy's fetch, and the rest adopt its copy (snapshot-cache.ts).
    everywhereHangMs: decideHang + ttl + rtt,
    // What the shared refresh adds to both: a follower adopts the claimer's copy at the claim's next poll point.
    sharedExtraMs: sharedFollowerLagMs(rtt) - rtt,
    idleServiceMs: idle + ttl + rtt,
  };
}

/** @param {number} rttMs */
function sharedFollowerLagMs(rttMs) {
  return followerLagMs({ rttMs, cacheOpMs: MESH.cacheOpMs, settleMs: MESH.claimSettleMs, pollsMs: MESH.claimPollsMs });
}

/**
 * Coordinators one cron run sweeps with this many services: src/core/sweep/slice.ts
 * sliceSize, written again here because the model runs as plain JavaScript (a
 * unit test checks the two agree). The slice is MESH.sweepSlice until the
 * run's KV operations (listing, bulk reads, `sweep:last` read and write) and
 * the registry's rebuild leave less than twice that of the invocation's 1,000
 * operations, past about 9,000 services; never below one.
 * @param {number} services
 */
export function sweepSliceFor(services) {
  const overhead = Math.ceil(services / MESH.kvListPage) + Math.ceil(services / MESH.kvBulkGetMax) + 2 + 1;
  return Math.max(1, Math.min(MESH.sweepSlice, Math.floor((LIMITS.kvOpsPerInvocation - overhead) / MESH.sweepRpcsPerService)));
}

/**
 * What one cron sweep makes in its one invocation (src/sweep/sweep.ts): a
 * `configure` and a `sweep` RPC per coordinator of its slice and the route
 * registry's rebuild (subrequests); the service list, every record in bulk
 * reads, `sweep:last` read (the cursor) and written (KV operations).
 * @param {ScaleInputs} c
 * @returns {SweepCalls}
 */
export function sweepCalls(c) {
  return {
    subrequests: MESH.sweepRpcsPerService * Math.min(c.services, sweepSliceFor(c.services)) + 1,
    kvOps: Math.ceil(c.services / MESH.kvListPage) + Math.ceil(c.services / MESH.kvBulkGetMax) + 2,
  };
}

/**
 * The whole model for one configuration.
 * @param {ScaleInputs} c
 * @returns {ScaleModel}
 */
export function scaleModel(c) {
  const load = coordinatorLoad(c);
  const kv = kvPerDay(c);
  const sub = perDesign((d) => subrequests(c, d));
  const memory = isolateMemoryBytes(c, (c.rps / (c.locations * c.isolatesPerLocation)) * load.triesPerRequest);
  const coordinatorRpsByDesign = perDesign((d) => load.byDesign[d].total);
  const worst = sub.snapshot;
  const sweep = sweepCalls(c);
  const flags = limitFlags({
    sweepSubrequests: sweep.subrequests,
    sweepKvOps: sweep.kvOps,
    coordinatorRpsByDesign,
    kvMaxWritesPerKeyPerS: kv.maxWritesPerKeyPerS,
    worstSubrequests: worst.worst,
    servicesPerFlush: worst.servicesPerFlush,
    isolateMemoryBytes: memory,
  });
  const shards = perDesign((d) => shardsNeeded(coordinatorRpsByDesign[d]));
  return { inputs: c, load, kv, subrequests: sub, staleness: staleness(c), deadOrigin: deadOriginTimes(c), isolateMemoryBytes: memory, sweep, flags, shards };
}
