import { authSchema, mtlsSchema, signingSchema, upstreamAuthSchema } from "./auth.js";
import { balancerSchema, strictModeRefusal } from "./balancer.js";
import { rateLimitAuthIssues, rateLimitsSchema } from "./rate-limits.js";
import { flowFields, flowRefusals, retryBudgetField } from "./flow.js";
import { affinitySchema, slowStartSecondsSchema, splitSchema, strictPolicyRefusal } from "./traffic-policy.js";
import { MAX_PATH_LENGTH, pathPrefixSchema } from "./path-prefix.js";
import * as z from "./zod.js";

/**
 * The service definition accepted by `PUT /_mesh/v1/services/{name}`.
 * Defaults live here, in one place, so the API, the Durable Object and the
 * router all see the same resolved config.
 */

export const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const int = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));
/** A default built fresh per parse, so no two configs share (and can mutate) one array or object. */
const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.core.util.NoUndefined<z.output<T>>) =>
  z._default(schema, () => structuredClone(value));

export const serviceNameSchema = z
  .string()
  .check(z.regex(SERVICE_NAME, "must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'"));

/** Upper bounds that keep a service record well inside its stores (KV value, DO SQLite row, route index). */
export const MAX_HOSTS = 100;
export const MAX_PATH_PREFIXES = 100;
export { MAX_PATH_LENGTH };
export const MAX_RETRY_CONDITIONS = 20;
export const MAX_EXPECTED_STATUSES = 50;

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * A DNS name: labels of 1-63 letters, digits or '-' (no empty label, so no
 * `a..b`), optionally behind one leading `*.`. A wildcard must keep at least two
 * labels (`*.example.com`): `*.com` would claim a whole top-level domain.
 * Without the public suffix list in the Worker, `*.co.uk` is not recognised as
 * a public suffix; docs/api.md says so.
 */
function isRouteHost(h: string): boolean {
  const wildcard = h.startsWith("*.");
  const labels = (wildcard ? h.slice(2) : h).split(".");
  if (wildcard && labels.length < 2) return false;
  return labels.every((l) => HOST_LABEL.test(l));
}

// A hostname as it appears in a Host header, without port; matched lowercased.
const hostSchema = z.pipe(
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(253),
      z.refine(isRouteHost, "must be a hostname such as api.example.com, or a wildcard over at least two labels such as *.example.com"),
    ),
  z.transform((h: string) => h.toLowerCase()),
);

// "/" alone is allowed: a host-less "/" rule is the default service, matched last (docs/api.md).
// Stored as a request's path carries it (path-prefix.ts): a prefix kept as sent could never match.
const routePrefixSchema = pathPrefixSchema(true);

export const routesSchema = z
  .strictObject({
    hosts: withDefault(z.array(hostSchema).check(z.maxLength(MAX_HOSTS)), []),
    pathPrefixes: withDefault(z.array(routePrefixSchema).check(z.maxLength(MAX_PATH_PREFIXES)), []),
    stripPrefix: withDefault(z.boolean(), false),
  })
  .check(
    z.refine((r) => r.hosts.length + r.pathPrefixes.length > 0, {
      message: "at least one of hosts or pathPrefixes is required",
      path: ["hosts"],
    }),
  );

const RETRY_CONDITION = /^(?:connect-failure|timeout|5xx|5\d\d)$/;

export const retryConditionSchema = z.pipe(
  // A status written as a number (`503`, as status codes usually are) is the same condition, kept as its string.
  z.pipe(z.union([z.string(), z.number()]), z.transform((v: string | number) => String(v))),
  z.string().check(z.regex(RETRY_CONDITION, "must be 'connect-failure', 'timeout', '5xx' or a 5xx status such as 503")),
);

const healthCheckFields = z.strictObject({
  path: withDefault(z.string().check(z.maxLength(MAX_PATH_LENGTH), z.regex(/^\/[^\s#]*$/, "must start with '/'")), "/healthz"),
  intervalSeconds: withDefault(int(1, 3600), 10),
  timeoutMs: withDefault(int(50, 30_000), 2_000),
  expectedStatuses: withDefault(z.array(int(100, 599)).check(z.minLength(1), z.maxLength(MAX_EXPECTED_STATUSES)), [200]),
  healthyThreshold: withDefault(int(1, 100), 2),
  unhealthyThreshold: withDefault(int(1, 100), 2),
});
export const healthCheckSchema = healthCheckFields.check(
  z.refine((h) => h.timeoutMs < h.intervalSeconds * 1000, {
    message: "timeoutMs must be shorter than intervalSeconds",
    path: ["timeoutMs"],
  }),
);

export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 30_000;
/**
 * How long the try stage holds an unsized (chunked) answer's headers while it
 * reads the body ahead (edge/proxy/read-ahead.ts). Long enough for a small
 * answer written in a few chunks to arrive whole; short enough that a stream's
 * first byte is late by at most this much.
 */
export const DEFAULT_READ_AHEAD_MS = 100;

export const retrySchema = z.strictObject({
  attempts: withDefault(int(1, 10), 3),
  perTryTimeoutMs: withDefault(int(50, 60_000), 5_000),
  // How long a request's tries may take together, from the start of its try stage to an answer's headers
  // (edge/proxy/request-timeout.ts): no try outlives it and no retry starts after it. Absent: each try has
  // perTryTimeoutMs, so attempts × perTryTimeoutMs bounds the tries.
  requestTimeoutMs: z.optional(int(50, 600_000)),
  // The longest gap between two chunks of an origin's response body before the
  // try is aborted: without it a body that stops half-way holds the client forever.
  bodyIdleTimeoutMs: withDefault(int(100, 600_000), DEFAULT_BODY_IDLE_TIMEOUT_MS),
  // How long an unsized answer is read ahead before its headers go out, so a body cut in that time
  // fails over instead of reaching the client as a cleanly ended one (workerd cannot abort it); 0: never.
  readAheadMs: withDefault(int(0, 5_000), DEFAULT_READ_AHEAD_MS),
  retryOn: withDefault(z.array(retryConditionSchema).check(z.maxLength(MAX_RETRY_CONDITIONS)), [
    "connect-failure",
    "timeout",
    "502",
    "503",
    "504",
  ]),
  // Retries allowed only within a share of recent requests plus a floor (flow.ts); null: `attempts` is the only bound.
  budget: retryBudgetField,
});

export const leaseSchema = z.strictObject({
  ttlSeconds: withDefault(int(5, 86_400), 30),
  deregisterAfterSeconds: withDefault(int(0, 7 * 86_400), 300),
});

export const outlierSchema = z.strictObject({
  consecutiveFailures: withDefault(int(1, 1000), 5),
  baseEjectionSeconds: withDefault(int(1, 3600), 30),
  maxEjectionSeconds: withDefault(int(1, 86_400), 300),
});

const minHealthyFraction = withDefault(z.number().check(z.gte(0), z.lte(1)), 0.5);
/** `locality` (docs/api.md, "Locality"): which instances a request prefers; the rules are in core/policy/locality.ts. */
export const localitySchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("proximity"), minHealthyFraction }),
  z.strictObject({ mode: z.literal("zone"), key: z.enum(["colo", "country", "continent", "region", "regionCode"]), minHealthyFraction }),
]);

/** Said in the 400, at `locality`, when a strict-mode service asks for it. */
export const STRICT_LOCALITY_REFUSAL =
  'locality cannot run with routing.mode "strict": the coordinator makes every strict pick and never sees the request\'s location ' +
  '(request.cf); use routing.mode "snapshot" for locality';

/** `responseHeaders` values: the mesh's `x-mesh-*` headers on relayed answers, or none. */
export const RESPONSE_HEADERS = ["mesh", "none"] as const;

const routingSchema = z.strictObject({ mode: withDefault(z.enum(["snapshot", "strict"]), "snapshot") });
const panicSchema = z.strictObject({ routeToAllWhenNoneHealthy: withDefault(z.boolean(), false) });

export const serviceConfigSchema = z.strictObject({
  routes: routesSchema,
  balancer: z._default(balancerSchema, "round_robin"),
  routing: withDefault(routingSchema, { mode: "snapshot" }),
  healthCheck: withDefault(healthCheckSchema, healthCheckSchema.parse({})),
  retry: withDefault(retrySchema, retrySchema.parse({})),
  lease: withDefault(leaseSchema, leaseSchema.parse({})),
  outlier: withDefault(outlierSchema, outlierSchema.parse({})),
  panic: withDefault(panicSchema, { routeToAllWhenNoneHealthy: false }),
  // Security (docs/security.md): absent means off. Each names Worker secrets or bindings, never holds one.
  auth: z.optional(authSchema),
  upstreamAuth: z.optional(upstreamAuthSchema),
  signing: z.optional(signingSchema),
  mtls: z.optional(mtlsSchema),
  // Flow control (docs/api.md, "Rate limits"): absent means no limits.
  rateLimits: z.optional(rateLimitsSchema),
  // Flow control (flow.ts, docs/api.md): absent means off.
  ...flowFields,
  // Session and canary policies (traffic-policy.ts): absent (or 0) means off.
  affinity: z.optional(affinitySchema),
  split: z.optional(splitSchema),
  slowStartSeconds: z._default(slowStartSecondsSchema, 0),
  // Traffic policies (docs/api.md): absent means off, and costs the router one field check.
  locality: z.optional(localitySchema),
  // Where requests go when this service has nothing healthy: one hop, never further (src/edge/route/fallback.ts).
  fallbackService: z.optional(serviceNameSchema),
  // What the mesh adds to a relayed answer (docs/api.md, "Response headers"): "mesh" adds x-mesh-instance and
  // x-mesh-attempts, "none" adds nothing. "mesh" by default: clients and tests read them, and they cost two header sets.
  responseHeaders: z._default(z.enum(RESPONSE_HEADERS), "mesh"),
}).check(
  // Checked here, not in either field, because it is the pair that is wrong; the message says which to change.
  z.superRefine((c, ctx) => {
    const refusal = c.routing.mode === "strict" ? strictModeRefusal(c.balancer) : null;
    if (refusal !== null) ctx.issues.push({ code: "custom", message: refusal, input: c.balancer, path: ["balancer"] });
    for (const i of rateLimitAuthIssues(c.rateLimits, c.auth !== undefined)) {
      ctx.issues.push({ code: "custom", message: i.message, input: c.rateLimits?.[i.index]?.key, path: ["rateLimits", i.index, "key"] });
    }
    for (const issue of flowRefusals(c)) ctx.issues.push(issue);
    if (c.routing.mode === "strict") {
      if (c.affinity !== undefined) ctx.issues.push({ code: "custom", message: strictPolicyRefusal("affinity"), input: c.affinity, path: ["affinity"] });
      if (c.split !== undefined) ctx.issues.push({ code: "custom", message: strictPolicyRefusal("split"), input: c.split, path: ["split"] });
      if (c.slowStartSeconds > 0) ctx.issues.push({ code: "custom", message: strictPolicyRefusal("slowStartSeconds"), input: c.slowStartSeconds, path: ["slowStartSeconds"] });
    }
    if (c.routing.mode === "strict" && c.locality !== undefined) {
      ctx.issues.push({ code: "custom", message: STRICT_LOCALITY_REFUSAL, input: c.locality, path: ["locality"] });
    }
  }),
);

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
  /** The token the last rotation replaced: its hash, and until when (ms) it is still accepted. */
  previousToken?: PreviousToken;
  createdAt: number;
  updatedAt: number;
}

export interface PreviousToken {
  hash: string;
  validUntil: number;
}

/**
 * A stored `previousToken` as a rotation writes it. Anything else (null from
 * an older writer, a hand edit) is no grace token: read as one, a null crashed
 * every token check, and a validUntil stored as a string compared as a number
 * and kept a replaced token working.
 */
export function isPreviousToken(value: unknown): value is PreviousToken {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return isTokenDigest(v.hash) && typeof v.validUntil === "number" && Number.isFinite(v.validUntil);
}

/**
 * A token digest as sha256Hex writes it (64 lowercase hex): no other string can match a presented
 * token. The coordinator checks its stored copy so (core/membership/stored.ts); a previousToken whose
 * hash was anything else, taken from a hand-edited record, was stored there and then dropped as
 * corrupt at the next load, with the token in force.
 */
export function isTokenDigest(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
}
