import { MAX_INSTANCES_PER_SERVICE } from "../../core/metrics/accumulator.js";
import { metricsRecordSchema } from "../../core/metrics/record.js";
import * as z from "../../core/schema/zod.js";

/**
 * A router's MetricsDelta as the coordinator accepts it. Routers are our own
 * code, but a delta from an older or newer build, or a bug, must be refused
 * as a whole rather than merged into the running totals.
 */
export const metricsDeltaSchema = z.object({
  instances: z
    .array(z.object({ instance: z.string().check(z.maxLength(64)), record: metricsRecordSchema }))
    .check(z.maxLength(MAX_INSTANCES_PER_SERVICE + 1)),
});
