// @ts-check
// A request line's `weight` (docs/analytics.md, "Sampling the request line"),
// checked the same way on the quick path (request-shape.mjs) and the parsed one
// (extract.mjs).

/**
 * 1 / MIN_LOG_SAMPLE (src/core/events/log-sample.ts), computed as the schema
 * computes it; this plain script cannot import the TypeScript, so a unit test
 * holds the two together.
 */
export const MAX_WEIGHT = 1 / 0.000001;

/**
 * At least 1 and at most MAX_WEIGHT, as the schema says: a line that any
 * Worker in the Logpush job can write must not count for 1e300 requests, nor
 * for none.
 * @param {unknown} v
 * @returns {v is number}
 */
export const isWeight = (v) => typeof v === "number" && v >= 1 && v <= MAX_WEIGHT;

/**
 * Whether `v` is a latency the mesh could have written: a number from 0 up
 * (the schema's `latencyMs` and `upstreamLatencyMs` are whole milliseconds).
 * A negative one, or one JSON reads as Infinity (`1e999`), is no latency, and
 * would drag a percentile below zero or to a value `--json` prints as null.
 * Fractions are let through: they are no one's attack, and the reader has
 * always taken them.
 * @param {unknown} v
 * @returns {v is number}
 */
export const isLatency = (v) => typeof v === "number" && v >= 0 && v !== Infinity;
