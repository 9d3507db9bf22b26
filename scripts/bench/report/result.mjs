// @ts-check
// The shape of one run's result: the JSON `npm run bench` writes and the
// report renderers (markdown.mjs, svg.mjs) read. Types only; measured values
// are `number | null` where rounding can turn a missing or NaN figure into null.

/**
 * @typedef {number | null} Measured
 * @typedef {import("../analysis/steady.mjs").SteadyRowResult & { rpsVsHandRolled?: Measured, rpsVsGuarded?: Measured, rpsVsSnapshot?: Measured }} SteadyRow
 * @typedef {{
 *   rounds: number, throughputSeconds: number, latencySeconds: number, connections: number,
 *   warmSeconds: number, generator: string, origins: string,
 *   workerProcesses?: number,
 * }} SteadyConfig
 * @typedef {{ config: SteadyConfig, rows: SteadyRow[], skipped: { id: string, reason: string }[] }} SteadyScenario
 * @typedef {import("../analysis/failover.mjs").FailoverAnalysis & { fault: string, victim: string }} FailoverRun
 * @typedef {{
 *   rate: number, faultAtMs: number, restoreAtMs: number, durationMs: number, restoreTargetMs: number,
 *   health: { intervalSeconds: number, timeoutMs: number, healthyThreshold: number, unhealthyThreshold: number },
 *   retry: { attempts: number, perTryTimeoutMs: number },
 *   runs: FailoverRun[],
 * }} FailoverScenario
 * @typedef {{
 *   instances: number, intervalSeconds: number, registerMs: Measured, roundsObserved: number,
 *   roundDurationMs: Measured, msPerInstance: Measured, cpuUsPerInstance: Measured, fitsIn10s: boolean,
 *   healthyAfter: number, lastCheckSpreadMs: Measured,
 * }} HealthSize
 * @typedef {{ method: string, sizes: HealthSize[] }} HealthScenario
 * @typedef {{ pathOnly: number, hostAndPath: number }} NsPerLookup
 * @typedef {{
 *   services: number, instancesPerService: number, routesInIndex: number,
 *   seeding: {
 *     concurrency?: number, servicesMs: number, instancesMs: number, registrationsPerSecond: Measured,
 *     createMs?: { first: Measured, last: Measured, samples: number }, totalMs?: number,
 *     workerdCpuMs?: { perCreate: number, perRegistration: number, perRepeatRegistration?: number, perHeartbeat?: number, perBareCall?: number, floorSample?: number },
 *   },
 *   routeMatch: {
 *     routes: number, hostTableRoutes: number, iterations: number, buildMs: number, runtime: string,
 *     nsPerLookup: NsPerLookup, workerd?: { lookups: number, nsPerLookup: NsPerLookup } | null,
 *   },
 *   sizes: {
 *     snapshotJsonBytes: number, routeIndexJsonBytes: number, snapshotHeapBytes: number, indexParsedHeapBytes: number,
 *     routeShards?: number, largestShardJsonBytes?: number,
 *     routesLoadedHeapBytes: number, routeIndexParseMs: number, routeTableBuildMs: number,
 *   },
 *   coldLoad: { restarts: number, coldIsolateFirstRequestMs: Measured, coldServiceInWarmIsolateMs: Measured, warmRequestMs: Measured, note: string },
 * }} RegistryScenario
 * @typedef {{ perSecond: Measured, ok: number, failed: number, p50Ms: Measured, p99Ms: Measured }} ControlPhase
 * @typedef {{
 *   concurrency: number, seconds: number,
 *   registrations: ControlPhase & { hitCap: boolean, membersAtCap: number },
 *   heartbeats: ControlPhase,
 * }} ControlPlaneScenario
 * @typedef {{ rawBytes: number, gzipBytes: number, wranglerGzipKiB: Measured, modules: { module: string, bytes: number, share: number }[] }} BundleBuild
 * @typedef {{ asShipped: BundleBuild, minified: BundleBuild }} BundleScenario
 * @typedef {{ kind: string, slowShare: number, p50: number, p99: number, rps: number, errors: number, shareRounds: number[] }} SlowOriginRow
 * @typedef {{ config: { rounds: number, seconds: number, connections: number, slowMs: number, origins: number, generator: string }, rows: SlowOriginRow[] }} SlowOriginScenario
 * @typedef {{ budget: string, attempts: number, seconds: number, clientRequests: number, upstreamTries: number, amplification: number, bound: number, non503: number }} RetryBudgetRow
 * @typedef {{ concurrency: number, durationMs: number, rows: RetryBudgetRow[] }} RetryBudgetScenario
 * @typedef {{ routers: number, sharing: string, requestsPerSecond: number, clientErrors: number, snapshotRpcsPerSecond: number | null, reportRpcsPerSecond: number | null }} RoutersRow
 * @typedef {{ lastRetryAfterKillMs: number | null, clientErrors: number, errorStatuses?: Record<string, number> }} RoutersFailover
 * @typedef {{ perRouterRps: number, seconds: number, rows: RoutersRow[], failover: Record<string, RoutersFailover | undefined>, note: string }} RoutersScenario
 * @typedef {{
 *   scope: string, factor: number, offeredPerSecond: number, requests: number, ok: number, refused: number, other: number,
 *   spanSeconds: number, admittedPerSecond: number | null, errorPercent: number | null, tolerancePercent: number, withinTarget: boolean, rpcsPer1000: number | null,
 * }} RateLimitRow
 * @typedef {{ rate: number, burst: number, durationMs: number, rateLimit: RateLimitRow[], cpu?: { method: string, calls: number, usPerCallWithout: number, usPerCallWithLimit: number, usAddedPerRequest: number } }} FlowScenario
 * @typedef {{
 *   date: string, mode: string, durationSeconds: number, git: { commit: string, dirty: boolean },
 *   node: string, miniflare: string, wrangler: string,
 *   machine: { cpus: number, cpuModel: string, memoryGiB: number },
 *   tools: Record<string, string | null>, pinning: { load: number, sut: number } | null, scenarios: string[],
 * }} RunMeta
 * @typedef {{
 *   meta: RunMeta,
 *   scenarios: {
 *     steady?: SteadyScenario, failover?: FailoverScenario, health?: HealthScenario,
 *     registry?: RegistryScenario, controlPlane?: ControlPlaneScenario, bundle?: BundleScenario, slow?: SlowOriginScenario, retryBudget?: RetryBudgetScenario,
 *     routers?: RoutersScenario, flow?: FlowScenario,
 *   },
 *   targets: import("./targets.mjs").TargetCheck[],
 *   errors: { scenario: string, message: string }[],
 * }} BenchResult
 * @typedef {{ json: string, md: string, throughputSvg: string, failoverSvg: string }} ResultFiles
 */

export {};
