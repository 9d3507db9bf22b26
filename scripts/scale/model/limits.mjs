// @ts-check
// Platform limits: which ones a configuration crosses, and how many coordinators a
// service needs. Pure; model.mjs feeds it the loads it computed.
import { LIMITS, MESH } from "./constants.mjs";

/**
 * What limitFlags checks: the loads model.mjs computed for one configuration.
 * @typedef {{ coordinatorRpsByDesign: Partial<Record<Design, number>>, kvMaxWritesPerKeyPerS: number,
 *             worstSubrequests: number, servicesPerFlush: number, isolateMemoryBytes: number,
 *             sweepSubrequests: number, sweepKvOps: number }} LimitInputs
 * @typedef {"do-requests" | "kv-write-per-key" | "subrequests" | "connections" | "isolate-memory" | "sweep-subrequests" | "sweep-kv-ops" | "sweep-operations"} LimitName
 * @typedef {{ limit: LimitName, design?: string, value: number, max: number, note: string }} LimitFlag
 * @typedef {import("./model.mjs").Design} Design
 * @typedef {import("./model.mjs").ScaleInputs} ScaleInputs
 */

/**
 * Isolate memory: route index and table for every service, one snapshot per
 * service it has served, and the pending outcome reports: one per instance
 * tried in the flush window, so no more than the isolate's tries in a window
 * and no more than every instance of every service.
 * @param {ScaleInputs} c
 * @param {number} isolateTriesPerS all services' tries in one isolate
 */
export function isolateMemoryBytes(c, isolateTriesPerS) {
  const pendingReports = Math.min(c.services * c.instancesPerService, Math.ceil(isolateTriesPerS * (MESH.reportFlushMs / 1000)));
  return (
    c.services * (MESH.heapBytesPerService + c.instancesPerService * MESH.heapBytesPerSnapshotInstance) +
    pendingReports * MESH.heapBytesPerPendingReport
  );
}

/**
 * Every platform limit the configuration crosses, per design.
 * @param {LimitInputs} m
 * @returns {LimitFlag[]}
 */
export function limitFlags(m) {
  /** @type {LimitFlag[]} */
  const flags = [];
  for (const [design, rps] of Object.entries(m.coordinatorRpsByDesign)) {
    if (rps > LIMITS.doRequestsPerSecond) {
      flags.push({ limit: "do-requests", design, value: rps, max: LIMITS.doRequestsPerSecond, note: "one coordinator is past ~1,000 req/s: shard it" });
    }
  }
  if (m.kvMaxWritesPerKeyPerS > LIMITS.kvWritesPerKeyPerSecond) {
    flags.push({ limit: "kv-write-per-key", value: m.kvMaxWritesPerKeyPerS, max: LIMITS.kvWritesPerKeyPerSecond, note: "one KV key written more than once a second" });
  }
  if (m.worstSubrequests > LIMITS.subrequestsPerRequest) {
    flags.push({ limit: "subrequests", value: m.worstSubrequests, max: LIMITS.subrequestsPerRequest, note: "one request's report flush can exceed 1,000 subrequests" });
  }
  if (m.sweepSubrequests > LIMITS.subrequestsPerRequest) {
    flags.push({
      limit: "sweep-subrequests",
      value: m.sweepSubrequests,
      max: LIMITS.subrequestsPerRequest,
      note: "one cron sweep calls every coordinator twice in one invocation: sweep a slice of the services per run",
    });
  }
  if (m.sweepKvOps > LIMITS.kvOpsPerInvocation) {
    flags.push({ limit: "sweep-kv-ops", value: m.sweepKvOps, max: LIMITS.kvOpsPerInvocation, note: "one cron sweep's KV reads pass 1,000 operations: sweep a slice per run" });
  }
  // Cloudflare's KV limits page counts KV operations and calls to other services against one 1,000 per invocation.
  // Flagged only when neither part is over on its own (those flags say more).
  const sweepPartsUnder = m.sweepKvOps <= LIMITS.kvOpsPerInvocation && m.sweepSubrequests <= LIMITS.subrequestsPerRequest;
  if (sweepPartsUnder && m.sweepSubrequests + m.sweepKvOps > LIMITS.kvOpsPerInvocation) {
    flags.push({
      limit: "sweep-operations",
      value: m.sweepSubrequests + m.sweepKvOps,
      max: LIMITS.kvOpsPerInvocation,
      note: "one cron sweep's RPCs and KV operations together pass 1,000 operations: a smaller slice per run",
    });
  }
  if (m.servicesPerFlush > LIMITS.simultaneousConnections) {
    flags.push({ limit: "connections", value: m.servicesPerFlush, max: LIMITS.simultaneousConnections, note: "a report flush fans out to more than 6 coordinators at once; the rest queue" });
  }
  if (m.isolateMemoryBytes > LIMITS.isolateMemoryBytes) {
    flags.push({ limit: "isolate-memory", value: m.isolateMemoryBytes, max: LIMITS.isolateMemoryBytes, note: "route index and snapshots exceed 128 MB per isolate" });
  }
  return flags;
}

/**
 * Coordinators one service needs in a design to stay under the DO soft limit.
 * @param {number} rps
 */
export function shardsNeeded(rps) {
  return Math.max(1, Math.ceil(rps / LIMITS.doRequestsPerSecond));
}
