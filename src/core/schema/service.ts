import { z } from "zod";

/**
 * The service definition accepted by `PUT /_mesh/v1/services/{name}`.
 * Defaults live here, in one place, so the API, the Durable Object and the
 * router all see the same resolved config.
 */

export const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const serviceNameSchema = z
  .string()
  .regex(SERVICE_NAME, "must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'");

// A hostname as it appears in a Host header, without port; matched lowercased.
const hostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?:\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i, "must be a hostname such as api.example.com")
  .transform((h) => h.toLowerCase());

const pathPrefixSchema = z
  .string()
  .max(1024)
  .regex(/^\/[^\s?#]*$/, "must start with '/' and contain no spaces, '?' or '#'")
  .refine((p) => !p.startsWith("/_mesh/") && p !== "/_mesh", "'/_mesh' is reserved for the control plane");

export const routesSchema = z
  .object({
    hosts: z.array(hostSchema).max(100).default([]),
    pathPrefixes: z.array(pathPrefixSchema).max(100).default([]),
    stripPrefix: z.boolean().default(false),
  })
  .strict()
  .refine((r) => r.hosts.length + r.pathPrefixes.length > 0, {
    message: "at least one of hosts or pathPrefixes is required",
    path: ["hosts"],
  });

export const retryConditionSchema = z.union([
  z.literal("connect-failure"),
  z.literal("timeout"),
  z.literal("5xx"),
  z.string().regex(/^5\d\d$/, "must be 'connect-failure', 'timeout', '5xx' or a 5xx status such as '503'"),
]);

export const healthCheckSchema = z
  .object({
    path: z.string().regex(/^\/[^\s#]*$/, "must start with '/'").default("/healthz"),
    intervalSeconds: z.number().int().min(1).max(3600).default(10),
    timeoutMs: z.number().int().min(50).max(30_000).default(2_000),
    expectedStatuses: z.array(z.number().int().min(100).max(599)).min(1).max(50).default([200]),
    healthyThreshold: z.number().int().min(1).max(100).default(2),
    unhealthyThreshold: z.number().int().min(1).max(100).default(2),
  })
  .strict()
  .refine((h) => h.timeoutMs < h.intervalSeconds * 1000, {
    message: "timeoutMs must be shorter than intervalSeconds",
    path: ["timeoutMs"],
  });

export const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(10).default(3),
    perTryTimeoutMs: z.number().int().min(50).max(60_000).default(5_000),
    retryOn: z.array(retryConditionSchema).max(20).default(["connect-failure", "timeout", "502", "503", "504"]),
  })
  .strict();

export const leaseSchema = z
  .object({
    ttlSeconds: z.number().int().min(5).max(86_400).default(30),
    deregisterAfterSeconds: z.number().int().min(0).max(7 * 86_400).default(300),
  })
  .strict();

export const outlierSchema = z
  .object({
    consecutiveFailures: z.number().int().min(1).max(1000).default(5),
    baseEjectionSeconds: z.number().int().min(1).max(3600).default(30),
    maxEjectionSeconds: z.number().int().min(1).max(86_400).default(300),
  })
  .strict();

export const serviceConfigSchema = z
  .object({
    routes: routesSchema,
    balancer: z.enum(["round_robin", "weighted_round_robin"]).default("round_robin"),
    routing: z
      .object({ mode: z.enum(["snapshot", "strict"]).default("snapshot") })
      .strict()
      .default({ mode: "snapshot" }),
    healthCheck: healthCheckSchema.default(() => healthCheckSchema.parse({})),
    retry: retrySchema.default(() => retrySchema.parse({})),
    lease: leaseSchema.default(() => leaseSchema.parse({})),
    outlier: outlierSchema.default(() => outlierSchema.parse({})),
    panic: z
      .object({ routeToAllWhenNoneHealthy: z.boolean().default(false) })
      .strict()
      .default({ routeToAllWhenNoneHealthy: false }),
  })
  .strict();

export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type RetryPolicy = ServiceConfig["retry"];
export type HealthCheckConfig = ServiceConfig["healthCheck"];
export type OutlierConfig = ServiceConfig["outlier"];
export type RetryCondition = z.output<typeof retryConditionSchema>;

/** What KV stores for a service: the resolved config plus bookkeeping. */
export interface ServiceRecord {
  name: string;
  config: ServiceConfig;
  /** Hex SHA-256 of the registration token; the token itself is never stored. */
  tokenHash: string;
  createdAt: number;
  updatedAt: number;
}
