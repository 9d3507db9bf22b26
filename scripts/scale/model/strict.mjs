// @ts-check
// Strict mode's coordinator RPCs from ONE isolate for ONE service, both ways
// the code can run it. Pure; model.mjs multiplies by the isolates.
import { MESH } from "./constants.mjs";

/**
 * STRICT_LEASES = "off": the per-pick batcher (src/edge/pick/strict-pick-batcher.ts).
 * A pick that finds no RPC in flight goes at once; picks arriving during the
 * round trip `rttS` share the next RPC, at most `maxBatch` each. After an RPC
 * returns, the next goes at once if anything queued (probability 1 − e^(−λr)),
 * otherwise with the next pick: cycle = r + e^(−λr)/λ.
 * @param {number} picksPerS @param {number} rttS @param {number} maxBatch
 */
export function pickBatchRate(picksPerS, rttS, maxBatch) {
  if (picksPerS <= 0) return 0;
  const cycle = rttS + Math.exp(-picksPerS * rttS) / picksPerS;
  return Math.max(1 / cycle, picksPerS / maxBatch);
}

/**
 * The block an isolate asks for at a steady pick rate λ (src/core/strict/slot-pool.ts nextAsk):
 * k = clamp(ceil(λ × LEASE_TARGET_MS), 1, MAX_LEASE_SLOTS).
 * @param {number} picksPerS
 */
export function leaseBlockSize(picksPerS) {
  const byRate = Math.ceil((picksPerS * MESH.leaseTargetMs) / 1_000);
  return Math.min(MESH.maxLeaseSlots, Math.max(1, byRate));
}

/**
 * STRICT_LEASES = "on" (the default): leaseSlots RPCs per second at a steady pick rate λ.
 * One RPC per block of k picks: λ / k, about 1,000 / LEASE_TARGET_MS = 4 per second for
 * a busy isolate, λ / 256 above 1,024 picks/s, and λ itself below 4 picks/s (k = 1: each
 * pick finds the pool empty and asks for its own slot). Renewal at half a block keeps a
 * steady isolate from running dry, so the doubling after a dry block does not set k in
 * steady state; and the 1.5 blocks an isolate holds at most are served within 750 ms (the
 * longest case: k = 2 just above 4 picks/s), inside LEASE_MAX_AGE_MS, so slots do not
 * expire unused at a steady rate. Poisson bursts that empty a small block are not counted.
 * Version voids (a newer snapshot) are not counted: one per membership or health change.
 * @param {number} picksPerS
 */
export function leasedSlotRate(picksPerS) {
  if (picksPerS <= 0) return 0;
  return picksPerS / leaseBlockSize(picksPerS);
}
