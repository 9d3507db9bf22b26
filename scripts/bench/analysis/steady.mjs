// @ts-check
// The steady-state scenario's figures from its per-round samples. Pure, so
// the arithmetic behind "× pass-through", "p50 added" and "CPU added" is
// unit-tested (test/unit/bench/).
import { median, round } from "../lib/stats.mjs";

/**
 * @typedef {{ rps: number, p50: number, p99: number, errors: number, cpuUsPerRequest: number,
 *             sutCpuPercent: number, foreignCpuPercent?: number, stealPercent?: number,
 *             logLinesPerRequest?: number, rpcsPer1000?: number }} Sample
 * @typedef {{ throughput: Sample[], latency: Sample[] }} RowSamples
 * @typedef {(x: Sample, ref: Sample) => number} PairFn
 * @typedef {"throughput" | "latency"} Pass
 * @typedef {ReturnType<typeof summarizeSteady>[number]} SteadyRowResult
 */

/**
 * One result per row: medians over rounds, and ratios to the baseline row
 * that are paired (each round's row against the baseline's run in the same
 * round, then the median over rounds), so drift between rounds cancels
 * instead of adding up.
 * @param {{ id: string, label: string }[]} rows
 * @param {Record<string, RowSamples>} samples
 * @param {string} baselineId
 */
export function summarizeSteady(rows, samples, baselineId) {
  if (samples[baselineId] === undefined) throw new Error(`no samples for the baseline row '${baselineId}'`);
  /** @param {string} id @param {Pass} pass @param {PairFn} f */
  const paired = (id, pass, f) => pairedMedian(samples, id, baselineId, pass, f);
  return rows.map((row) => ({
    ...summarizeRow(row, samples[row.id] ?? { throughput: [], latency: [] }),
    rpsVsPassthrough: paired(row.id, "throughput", (x, b) => x.rps / b.rps),
    cpuVsPassthrough: paired(row.id, "throughput", (x, b) => x.cpuUsPerRequest / b.cpuUsPerRequest),
    cpuAddedUsPerRequest: round(paired(row.id, "throughput", (x, b) => x.cpuUsPerRequest - b.cpuUsPerRequest) ?? Number.NaN, 1),
    p50AddedMs: paired(row.id, "latency", (x, b) => x.p50 - b.p50),
  }));
}

/**
 * The median over rounds of f(row's sample, reference's sample in the same
 * round), rounded to 3 digits; rounds the reference has no sample for are
 * skipped. Null when no round pairs up.
 * @param {Record<string, RowSamples>} samples
 * @param {string} id @param {string} referenceId
 * @param {Pass} pass
 * @param {PairFn} f
 * @returns {number | null}
 */
export function pairedMedian(samples, id, referenceId, pass, f) {
  const ref = samples[referenceId]?.[pass] ?? [];
  const own = samples[id]?.[pass] ?? [];
  return round(median(own.map((x, i) => {
    const r = ref[i];
    return r === undefined ? Number.NaN : f(x, r);
  })), 3);
}

/** @param {{ id: string, label: string }} row @param {RowSamples} s */
function summarizeRow(row, s) {
  /** @typedef {"rps" | "p50" | "p99" | "cpuUsPerRequest" | "sutCpuPercent" | "logLinesPerRequest" | "rpcsPer1000"} Metric */
  /** @param {Sample[]} list @param {Metric} key */
  const pick = (list, key) => median(list.map((x) => x[key] ?? Number.NaN));
  /** @param {Sample[]} list @param {Metric} key */
  const spread = (list, key) => list.map((x) => round(x[key] ?? Number.NaN, 1));
  return {
    id: row.id,
    label: row.label,
    throughput: {
      rps: round(pick(s.throughput, "rps"), 0),
      rpsRounds: spread(s.throughput, "rps"),
      p50: round(pick(s.throughput, "p50"), 3),
      p99: round(pick(s.throughput, "p99"), 3),
      cpuUsPerRequest: round(pick(s.throughput, "cpuUsPerRequest"), 1),
      sutCpuPercent: round(pick(s.throughput, "sutCpuPercent"), 0),
      errors: s.throughput.reduce((a, x) => a + x.errors, 0),
      foreignCpuPercent: round(Math.max(0, ...s.throughput.map((x) => x.foreignCpuPercent ?? 0)), 0),
      stealPercent: round(Math.max(0, ...s.throughput.map((x) => x.stealPercent ?? 0)), 0),
      logLinesPerRequest: row.id === "snapshot" || row.id === "snapshot-every-line" ? round(pick(s.throughput, "logLinesPerRequest"), 3) : undefined,
      rpcsPer1000: row.id === "strict" ? round(pick(s.throughput, "rpcsPer1000"), 2) : undefined,
    },
    latency: {
      rps: round(pick(s.latency, "rps"), 0),
      p50: round(pick(s.latency, "p50"), 3),
      p99: round(pick(s.latency, "p99"), 3),
      errors: s.latency.reduce((a, x) => a + x.errors, 0),
    },
  };
}
