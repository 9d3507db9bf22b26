// @ts-check
// The numbers the scale model reads from the code and from the platform. Each
// mesh constant names the file it mirrors, so a change there is easy to carry here.

/** Switchyard's own timings and batch sizes, as in src/** today. */
export const MESH = Object.freeze({
  /** src/edge/snapshot-cache.ts SNAPSHOT_TTL_MS: each isolate re-asks its coordinator at most once a second. */
  snapshotTtlMs: 1_000,
  /** src/edge/snapshot-cache.ts DO_TIMEOUT_MS: a refresh slower than this is given up. */
  doTimeoutMs: 1_500,
  /** src/edge/snapshot-cache.ts KEEP_STALE_MS: how long a failed refresh keeps the last coordinator snapshot. */
  keepStaleMs: 30_000,
  /** src/edge/route-cache.ts ROUTE_TTL_MS: each busy isolate reads the `routes:v` key every 5 s (and a shard only when it changed). */
  routeTtlMs: 5_000,
  /** src/edge/report/outcome-reporter.ts FLUSH_DELAY_MS, URGENT_GAP_MS (outcomes are folded per instance: no batch cap). */
  reportFlushMs: 1_000,
  reportUrgentGapMs: 200,
  /** src/core/snapshot.ts MAX_PICKS_PER_BATCH. */
  maxPicksPerBatch: 64,
  /**
   * src/edge/cache/snapshot-cache.ts SHARE_SPREAD_MS: with SNAPSHOT_SHARING = "cache" (the default) each
   * isolate refreshes up to this much before the TTL, at a lead of its own drawn once.
   */
  shareSpreadMs: 300,
  /** src/edge/cache/location-copy.ts: a Cache API read or put is local to the data center, "about a millisecond". */
  cacheOpMs: 1,
  /**
   * src/core/location-share/refresh-claim.ts CLAIM_SETTLE_MS, CLAIM_POLLS_MS: the claimer's wait between its put and
   * its read back, and when a follower reads the copy, in ms after the claim.
   */
  claimSettleMs: 20,
  claimPollsMs: Object.freeze([30, 60, 100, 150, 250, 400]),
  /** src/core/strict/slot-pool.ts LEASE_TARGET_MS, MAX_LEASE_SLOTS, LEASE_MAX_AGE_MS (STRICT_LEASES = "on", the default). */
  leaseTargetMs: 250,
  maxLeaseSlots: 256,
  leaseMaxAgeMs: 1_000,
  /**
   * src/coordinator/storage/write-behind.ts STATS_FLUSH_MS: reports' counters and metrics records reach SQLite at
   * most once per this period, one row per instance for its counters and, with METRICS = "on" (the default), two
   * for its metrics (its total and its minute record). Billed as rows written (cursor.rowsWritten): the counters'
   * UPDATE touches no indexed column (1), while each metrics INSERT OR REPLACE also writes its PRIMARY KEY's index
   * (2 each), so 5 (test/worker/metrics/metrics-store.test.ts measures it).
   */
  statsFlushMs: 1_000,
  statsRowsPerInstance: 5,
  /**
   * A health probe's result: its instance's health column (1 row written) and the coordinator's own counter of
   * passed or failed checks in metrics_counters (an upsert, 1 once the counter exists).
   */
  probeRowsPerResult: 2,
  /** scripts/lib/registration-client.mjs: heartbeats at a third of the lease. */
  heartbeatsPerLease: 3,
  /** wrangler.toml cron: the sweep runs each minute and calls configure() and sweep() on every coordinator. */
  sweepPeriodS: 60,
  sweepRpcsPerService: 2,
  /** src/sweep/sweep.ts: route index and last-sweep record, rewritten every sweep. */
  sweepKvWrites: 2,
  /** src/sweep/sweep.ts SWEEP_SLICE: coordinators one cron run sweeps; past it, each every ⌈services / slice⌉ runs. */
  sweepSlice: 450,
  /** src/registry/kv-registry.ts KV_BULK_GET_MAX: the sweep reads service records 100 keys per KV operation. */
  kvBulkGetMax: 100,
  /** KV list() pages hold at most 1,000 keys (Workers KV docs). */
  kvListPage: 1_000,
  /**
   * Isolate heap, from bench/results/2026-11-22-c59ca6e.json (registry scenario): the route index, table and
   * service map took 1,486,080 B for 1,000 services with 10 routes each; a 10-instance snapshot 1,683 B
   * (1,543,334 and 1,674 B in bench/results/2026-12-02-ba872c1.json).
   */
  heapBytesPerService: 1_486,
  heapBytesPerSnapshotInstance: 168,
  /** One instance's running report (and its map entry) while a flush window is open: a rough upper bound, not measured. */
  heapBytesPerPendingReport: 200,
});

/** Platform limits a configuration is checked against (Cloudflare Workers, Durable Objects and KV docs). */
export const LIMITS = Object.freeze({
  /** Durable Objects: one object is single-threaded, ~1,000 requests/s is the documented soft limit. */
  doRequestsPerSecond: 1_000,
  /** Workers KV: at most 1 write per second to the same key. */
  kvWritesPerKeyPerSecond: 1,
  /** Workers (paid): 1,000 subrequests per request. */
  subrequestsPerRequest: 1_000,
  /** Workers KV: at most 1,000 operations per Worker invocation; a bulk read of up to 100 keys is one. */
  kvOpsPerInvocation: 1_000,
  /** Workers: 6 simultaneous open outbound connections per invocation; more wait their turn. */
  simultaneousConnections: 6,
  /** Workers: 128 MB of memory per isolate. */
  isolateMemoryBytes: 128 * 1024 * 1024,
});
