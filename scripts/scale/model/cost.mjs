// @ts-check
// Monthly cost at Cloudflare's published prices. There is no internet here: the
// prices below are the ones published on the Workers, Durable Objects and KV
// pricing pages as this author knows them (Workers Paid plan, standard usage
// model, read 2025). Update PRICES (and PRICES_READ) when they change.

/**
 * @typedef {{ included: number, perMillion: number }} PriceLine
 * @typedef {{ workers: number, doRequests: number, doDuration: number, doRowsWritten: number, kv: number, total: number,
 *             usage: { requests: number, doRequests: number, doGbS: number, doRowsWritten: number } }} MonthlyCost
 * @typedef {import("./model.mjs").Design} Design
 * @typedef {import("./model.mjs").ScaleModel} ScaleModel
 */

/** @type {string} */
export const PRICES_READ = "2025 (Workers Paid plan pages on developers.cloudflare.com, from memory: not re-read online)";

/** One table: what is included in the plan each month (each entry a PriceLine), and the price beyond it. */
export const PRICES = Object.freeze({
  workersBasePerMonth: 5,
  workersRequests: { included: 10e6, perMillion: 0.3 },
  workersCpuMs: { included: 30e6, perMillion: 0.02 },
  doRequests: { included: 1e6, perMillion: 0.15 },
  doDurationGbS: { included: 400_000, perMillion: 12.5 },
  doRowsWritten: { included: 50e6, perMillion: 1.0 },
  kvReads: { included: 10e6, perMillion: 0.5 },
  kvWrites: { included: 1e6, perMillion: 5 },
  kvDeletes: { included: 1e6, perMillion: 5 },
  kvLists: { included: 1e6, perMillion: 5 },
});

/** A Durable Object is billed for 128 MB while it is in memory; a coordinator polled every second never leaves. */
const DO_GB = 0.128;
/** Billing month used here: 30 days. */
export const MONTH_S = 30 * 86_400;

/** @param {PriceLine} p @param {number} used */
export function overage(p, used) {
  return (Math.max(0, used - p.included) / 1e6) * p.perMillion;
}

/**
 * @param {ScaleModel} m the model for the configuration
 * @param {Design} design which design's coordinator load to bill
 * @param {number} cpuMsPerRequest Worker CPU per client request
 * @returns {MonthlyCost}
 */
export function monthlyCost(m, design, cpuMsPerRequest) {
  const c = m.inputs;
  const load = m.load.byDesign[design];
  const days = MONTH_S / 86_400;
  const requests = c.rps * MONTH_S;
  const alarmsPerS = c.services / c.healthIntervalS;
  const doRequests = (load.total * c.services + alarmsPerS) * MONTH_S;
  // Coordinators with any traffic stay in memory all month (they are asked at least every few seconds).
  const doGbS = c.services * DO_GB * MONTH_S;
  // SQLite rows written: one per probe result, heartbeat, registration, and per instance in a report.
  const rowsPerS =
    c.services *
    (c.instancesPerService / c.healthIntervalS +
      load.heartbeats +
      load.registrations +
      load.reports * Math.min(c.instancesPerService, Math.max(1, m.load.perIsolateServiceRps * m.load.triesPerRequest * m.load.report.windowS)));
  const lines = {
    workers: PRICES.workersBasePerMonth + overage(PRICES.workersRequests, requests) + overage(PRICES.workersCpuMs, requests * cpuMsPerRequest),
    doRequests: overage(PRICES.doRequests, doRequests),
    doDuration: overage(PRICES.doDurationGbS, doGbS),
    doRowsWritten: overage(PRICES.doRowsWritten, rowsPerS * MONTH_S),
    kv:
      overage(PRICES.kvReads, m.kv.reads * days) +
      overage(PRICES.kvWrites, m.kv.writes * days) +
      overage(PRICES.kvDeletes, m.kv.deletes * days) +
      overage(PRICES.kvLists, m.kv.lists * days),
  };
  const total = lines.workers + lines.doRequests + lines.doDuration + lines.doRowsWritten + lines.kv;
  return { ...lines, total, usage: { requests, doRequests, doGbS, doRowsWritten: rowsPerS * MONTH_S } };
}
