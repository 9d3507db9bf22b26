// @ts-check
// Monthly cost at Cloudflare's published prices (Workers Paid plan, standard
// usage model). There is no live internet here: PRICES_READ says where they
// were read. Update PRICES (and PRICES_READ) when they change.

/**
 * @typedef {{ included: number, perMillion: number }} PriceLine
 * @typedef {{ workers: number, doRequests: number, doDuration: number, doRowsWritten: number, kv: number,
 *             workersLogs: number, logpush: number, total: number,
 *             usage: { requests: number, doRequests: number, doGbS: number, doRowsWritten: number, logEvents: number,
 *                      logpushRecords: number } }} MonthlyCost
 * @typedef {import("./model.mjs").Design} Design
 * @typedef {import("./model.mjs").ScaleModel} ScaleModel
 */

/** @type {string} */
export const PRICES_READ =
  "2026-12-01 from a stored copy of developers.cloudflare.com/workers/platform/pricing/ (no live internet here: check before relying on a figure)";

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
  // Each invocation log and each console line is one event (the Workers Logs page's own example counts 2 per request).
  workersLogEvents: { included: 20e6, perMillion: 0.6 },
  // Workers Trace Events Logpush: each request log that reaches the destination, after the job's filters and sampling.
  logpushRequests: { included: 10e6, perMillion: 0.05 },
});

import { MESH } from "./constants.mjs";
import { requestLinesPerRequest } from "./model.mjs";

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
  // SQLite rows written: two per probe result (health and the checks counter), one per heartbeat and
  // registration, and the reports' statistics,
  // written behind (src/coordinator/storage/write-behind.ts): at most one flush per period, however many
  // reports came in it, rewriting the rows of each instance the period's tries named.
  const flushS = MESH.statsFlushMs / 1000;
  // Each alarm flushes too (once per health interval), so that a round's rows are not left waiting: an upper
  // bound of one more flush per interval, when reports keep something pending.
  const flushesPerS = Math.min(load.reports, 1 / flushS) + Math.min(load.reports, 1 / c.healthIntervalS);
  const namedPerFlush = Math.min(c.instancesPerService, Math.max(1, m.load.serviceRps * m.load.triesPerRequest * flushS));
  const rowsPerS =
    c.services *
    ((c.instancesPerService / c.healthIntervalS) * MESH.probeRowsPerResult + load.heartbeats + load.registrations + flushesPerS * namedPerFlush * MESH.statsRowsPerInstance);
  // Workers Logs, sampled by head_sampling_rate (whole invocations): the request lines (REQUEST_LOG=json,
  // thinned by REQUEST_LOG_SAMPLE to the successes drawn and every other request) and, with invocation logs
  // on, an invocation log per invocation, the coordinators' (every RPC and alarm) as well as the routers';
  // Cloudflare logs Durable Object requests too. Logpush: one trace-event record per client request,
  // whatever either sampling does to the lines inside it (a request whose line was not drawn is still an
  // invocation, its record's Logs empty), and one per coordinator invocation (EventType worker_rpc or
  // alarm) unless the job's filter keeps those out (coordinatorLogpush 0).
  const lines = requestLinesPerRequest(c);
  const logEvents = c.workersLogs * c.logSampling * (requests * (lines + c.invocationLogs) + doRequests * c.invocationLogs);
  const logpushRecords = c.logpush * (requests + c.coordinatorLogpush * doRequests);
  const bill = {
    workers: PRICES.workersBasePerMonth + overage(PRICES.workersRequests, requests) + overage(PRICES.workersCpuMs, requests * cpuMsPerRequest),
    doRequests: overage(PRICES.doRequests, doRequests),
    doDuration: overage(PRICES.doDurationGbS, doGbS),
    doRowsWritten: overage(PRICES.doRowsWritten, rowsPerS * MONTH_S),
    kv:
      overage(PRICES.kvReads, m.kv.reads * days) +
      overage(PRICES.kvWrites, m.kv.writes * days) +
      overage(PRICES.kvDeletes, m.kv.deletes * days) +
      overage(PRICES.kvLists, m.kv.lists * days),
    workersLogs: overage(PRICES.workersLogEvents, logEvents),
    logpush: overage(PRICES.logpushRequests, logpushRecords),
  };
  const total = bill.workers + bill.doRequests + bill.doDuration + bill.doRowsWritten + bill.kv + bill.workersLogs + bill.logpush;
  return { ...bill, total, usage: { requests, doRequests, doGbS, doRowsWritten: rowsPerS * MONTH_S, logEvents, logpushRecords } };
}
