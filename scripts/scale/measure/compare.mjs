// @ts-check
// The model's prediction for a measured run of N routers, one service, sharing
// off or on. Pure: the measurement scripts feed it what they measured, and it
// says what the model expects for the same arrivals and what the ratio is.
import { MESH } from "../model/constants.mjs";
import { requestDrivenRefreshRate } from "../model/model.mjs";
import { claimWindowS, seededRandom, sharedRefreshRate, simulateSharedRefresh } from "../model/shared-refresh.mjs";

/** A snapshot() RPC to a Durable Object in the same workerd process: about a millisecond or two. */
export const LOCAL_RPC_MS = 2;
/** Lead draws the lockstep prediction averages over, and cycles per draw. */
const DRAWS = 400;
const CYCLES = 100;

/**
 * @typedef {{ routers: number, sharing: "off" | "cache", ratePerRouter: number, arrivals: "poisson" | "lockstep",
 *             measuredSnapshotRpcsPerS: number }} RoutersRun
 * @typedef {{ model: number, p10: number, p90: number, ratio: number, agrees: boolean, inDrawRange: boolean | null }} RoutersPrediction
 *   agrees: measured within 20 % of the model's mean; inDrawRange: within the 10–90 % range over lead draws (null with sharing off).
 */

/**
 * The model's snapshot RPCs/s for a run, with the 10–90 % range over lead draws
 * (each run draws its isolates' leads once, so runs of one configuration differ;
 * with sharing off there are no leads and the range is the point).
 * @param {RoutersRun} run
 * @param {number} [seed] for the lockstep simulation
 * @returns {RoutersPrediction}
 */
export function predictRoutersRun(run, seed = 1) {
  const ttlS = MESH.snapshotTtlMs / 1000;
  const latencyS = LOCAL_RPC_MS / 1000;
  const lambda = run.ratePerRouter;
  const result = (/** @type {number} */ model, /** @type {number} */ p10, /** @type {number} */ p90) => {
    const m = run.measuredSnapshotRpcsPerS;
    const ratio = model > 0 ? m / model : Number.NaN;
    return { model, p10, p90, ratio, agrees: Math.abs(ratio - 1) <= 0.2, inDrawRange: run.sharing === "off" ? null : m >= p10 && m <= p90 };
  };
  if (run.sharing === "off") {
    // Lockstep: the wait for the next tick after a due time is uniform on one tick, half a tick on average.
    const wait = run.arrivals === "lockstep" ? 0.5 / lambda : 1 / lambda;
    const model = lambda > 0 ? run.routers / (ttlS + latencyS + wait) : 0;
    const poisson = run.routers * requestDrivenRefreshRate(ttlS, latencyS, lambda);
    return result(run.arrivals === "lockstep" ? model : poisson, model, model);
  }
  const p = { isolates: run.routers, rate: lambda, ttlS, spreadS: MESH.shareSpreadMs / 1000, windowS: claimWindowS({ rttS: latencyS, cacheOpS: MESH.cacheOpMs / 1000, settleS: MESH.claimSettleMs / 1000 }) };
  const random = seededRandom(seed);
  const draws = Array.from({ length: DRAWS }, () => simulateSharedRefresh({ ...p, arrivals: run.arrivals, cycles: CYCLES, random })).sort((a, b) => a - b);
  const p10 = draws[Math.floor(DRAWS * 0.1)] ?? 0;
  const p90 = draws[Math.floor(DRAWS * 0.9)] ?? 0;
  const model = run.arrivals === "poisson" ? sharedRefreshRate(p).rpcsPerS : draws.reduce((a, b) => a + b, 0) / DRAWS;
  return result(model, p10, p90);
}
