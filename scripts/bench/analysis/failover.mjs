// @ts-check
// The failover scenario's figures, computed from what the run recorded: the
// load generator's per-request records, the faulty origin's own arrival log
// and the coordinator's state changes. Pure, so the arithmetic behind every
// published failover number is unit-tested (test/unit/bench/).
import { latencySummary, round } from "../lib/stats.mjs";

/**
 * @typedef {import("../lib/open-loop.mjs").RequestRecord} RequestRecord
 * @typedef {ReturnType<typeof analyzeFailover>} FailoverAnalysis
 */

/**
 * @param {{
 *   fault: "kill" | "hang",
 *   records: RequestRecord[],
 *   t0: number, faultTime: number, restoreTime: number, durationMs: number,
 *   victimArrivals: number[],
 *   states: { t: number, state: string }[],
 * }} run
 */
export function analyzeFailover({ fault, records, t0, faultTime, restoreTime, durationMs, victimArrivals, states }) {
  const errors = records.filter((r) => r.status !== 200 || r.error !== null);
  const duringFault = records.filter((r) => r.sent >= faultTime && r.sent < restoreTime);
  const beforeFault = records.filter((r) => r.sent < faultTime);

  // A request that touched the faulty origin either failed over (x-mesh-attempts > 1) or
  // failed; its first try left the mesh right after the request arrived, so its send time
  // is when the mesh last tried the faulty origin (to within routing time). For a kill the
  // answer time is a close upper bound; for a hang the try lasts the per-try timeout.
  // Socket errors between the client and the mesh (status 0) say nothing about which origin was tried.
  // None touched means no request sent after the fault reached the faulty origin (the last one
  // was sent before the fault time was taken): reported as 0 ms, and flagged by the count below.
  const touched = duringFault.filter((r) => r.attempts > 1 || (r.status !== 0 && r.status !== 200));
  const lastToFaulty = touched.length > 0 ? maxOf(touched.map((r) => r.sent)) - faultTime : 0;
  const lastToFaultyUpper = touched.length > 0 ? maxOf(touched.map((r) => (fault === "kill" ? r.done : r.sent))) - faultTime : 0;
  // The origin's own log: for a hang it shows when requests stopped reaching it (workerd may
  // queue requests behind its stuck connections, so this can be earlier than the line above).
  const arrivedDuring = victimArrivals.filter((t) => t >= faultTime && t < restoreTime);
  const lastArrival = arrivedDuring.length > 0 ? maxOf(arrivedDuring) - faultTime : null;
  const back = victimArrivals.filter((t) => t >= restoreTime);
  const restoreToTraffic = back.length > 0 ? minOf(back) - restoreTime : null;
  const unhealthyAt = states.find((s) => s.state === "unhealthy" && s.t >= faultTime)?.t ?? null;
  const healthyAgainAt = states.find((s) => s.state === "healthy" && s.t >= restoreTime)?.t ?? null;

  return {
    requests: records.length,
    clientErrors: errors.length,
    meshErrorResponses: errors.filter((e) => e.status !== 0).length,
    clientSocketErrors: errors.filter((e) => e.status === 0).length,
    socketErrorsOnReusedConnections: errors.filter((e) => e.status === 0 && e.reusedSocket).length,
    errorSamples: [...new Set(errors.map((e) => e.error ?? `HTTP ${e.status}`))].slice(0, 5),
    retriedRequests: records.filter((r) => r.attempts > 1).length,
    lastToFaultyMs: round(lastToFaulty, 1),
    lastToFaultyUpperBoundMs: round(lastToFaultyUpper, 1),
    lastArrivalAtFaultyOriginMs: lastArrival === null ? null : round(lastArrival, 1),
    requestsTouchingFaultyOrigin: touched.length,
    restoreToTrafficMs: restoreToTraffic === null ? null : round(restoreToTraffic, 1),
    coordinatorUnhealthyAfterMs: unhealthyAt === null ? null : round(unhealthyAt - faultTime, 0),
    coordinatorHealthyAfterRestoreMs: healthyAgainAt === null ? null : round(healthyAgainAt - restoreTime, 0),
    beforeFault: roundSummary(latencySummary(beforeFault.filter((r) => r.done > 0).map((r) => r.done - r.sent))),
    duringFault: roundSummary(latencySummary(duringFault.filter((r) => r.done > 0).map((r) => r.done - r.sent))),
    timeline: failoverTimeline(records, t0, faultTime, restoreTime, durationMs),
  };
}

// Loops, not Math.max(...xs): a long run records more requests than a call's argument limit.
/** @param {readonly number[]} xs */
function maxOf(xs) {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  return m;
}

/** @param {readonly number[]} xs */
function minOf(xs) {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) if (x < m) m = x;
  return m;
}

/** @param {ReturnType<typeof latencySummary>} s */
function roundSummary(s) {
  return { count: s.count, p50: round(s.p50, 2), p90: round(s.p90, 2), p99: round(s.p99, 2), max: round(s.max, 1) };
}

/**
 * Per-second answers per origin and errors, bucketed by completion time.
 * @param {readonly RequestRecord[]} records
 * @param {number} t0 @param {number} faultTime @param {number} restoreTime @param {number} durationMs
 */
export function failoverTimeline(records, t0, faultTime, restoreTime, durationMs) {
  // Whole seconds of load only: the last, partial second would look like a drop.
  const seconds = Math.floor(durationMs / 1000);
  const names = [...new Set(records.flatMap((r) => (r.origin === null ? [] : [r.origin])))].sort();
  const zeros = () => Array.from({ length: seconds }, () => 0);
  /** @type {Record<string, number[]>} */
  const perOrigin = Object.fromEntries(names.map((n) => [n, zeros()]));
  const errors = zeros();
  const slow = zeros();
  for (const r of records) {
    const s = Math.floor((r.done - t0) / 1000);
    if (s < 0 || s >= seconds) continue;
    if (r.status !== 200 || r.error !== null) bump(errors, s);
    else if (r.origin !== null) bump(perOrigin[r.origin], s);
    if (r.done - r.sent > 100) bump(slow, s);
  }
  return { faultAtS: round((faultTime - t0) / 1000, 3), restoreAtS: round((restoreTime - t0) / 1000, 3), perOrigin, errors, slowOver100ms: slow };
}

/** Adds one to a per-second bucket (the callers keep `s` within the array). @param {number[] | undefined} buckets @param {number} s */
function bump(buckets, s) {
  if (buckets !== undefined) buckets[s] = (buckets[s] ?? 0) + 1;
}
