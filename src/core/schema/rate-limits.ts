import { pathPrefixSchema } from "./path-prefix.js";
import * as z from "./zod.js";

/**
 * The service config's `rateLimits` (docs/api.md, "Rate limits"): a list of
 * token-bucket limits, each keyed by the service as a whole, the client IP, a
 * header, a verified JWT claim or a query parameter, counted per isolate
 * (`isolate`) or exactly across every isolate and location (`global`, the
 * RateLimiter Durable Object). Absent means no limits, and the data plane
 * then pays one field check.
 */

export const MAX_RATE_LIMITS = 8;
export const MAX_RATE_PER_SECOND = 1_000_000;
/**
 * A global limit's keys each live in one Durable Object, which decides every
 * admitted request (that is what makes it exact): one key cannot go past the
 * object's ~1,000 requests/s soft limit (Durable Objects docs), so a higher
 * global rate could never be honoured. Higher rates per key: `isolate` scope.
 */
export const MAX_GLOBAL_RATE_PER_SECOND = 1_000;
export const MAX_BURST = 1_000_000;
/** Below this a limit admits one request every ~17 minutes; anything lower is a config mistake. */
export const MIN_RATE_PER_SECOND = 0.001;

// The name goes into RateLimit-Policy / RateLimit as a structured-field string and into the 429 body.
const LIMIT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
// RFC 9110 token: what a header name may be. Headers are matched lowercased.
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/i;

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

export const rateLimitKeySchema = z.union([
  z.literal("service"),
  z.literal("client_ip"),
  z.strictObject({ header: z.pipe(z.string().check(z.regex(TOKEN, "must be an HTTP header name of at most 64 characters")), z.transform((h: string) => h.toLowerCase())) }),
  z.strictObject({ jwtClaim: text(128) }),
  z.strictObject({ query: text(128) }),
]);

const METHOD = /^[A-Za-z]{1,16}$/;

const matchSchema = z.strictObject({
  // Compared with the request's path as its URL carries it, so stored in that form (path-prefix.ts).
  pathPrefix: z.optional(pathPrefixSchema(false)),
  methods: z.optional(
    z.array(z.pipe(z.string().check(z.regex(METHOD, "must be an HTTP method such as GET")), z.transform((m: string) => m.toUpperCase()))).check(
      z.minLength(1),
      z.maxLength(16),
    ),
  ),
});

const rateLimitFields = z
  .strictObject({
    name: z.string().check(z.regex(LIMIT_NAME, "must be 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")),
    key: rateLimitKeySchema,
    ratePerSecond: z.number().check(z.gte(MIN_RATE_PER_SECOND), z.lte(MAX_RATE_PER_SECOND)),
    // Left out: one second's worth of requests (at least 1).
    burst: z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_BURST))),
    scope: z._default(z.enum(["isolate", "global"]), "isolate"),
    match: z.optional(matchSchema),
  })
  .check(
    z.refine((l) => l.scope !== "global" || l.ratePerSecond <= MAX_GLOBAL_RATE_PER_SECOND, {
      message: `a global limit is at most ${MAX_GLOBAL_RATE_PER_SECOND} per second per key (one Durable Object decides each key); use scope "isolate" for more`,
      path: ["ratePerSecond"],
    }),
  );

export const rateLimitSchema = z.pipe(
  rateLimitFields,
  z.transform((l) => ({ ...l, burst: l.burst ?? Math.max(1, Math.ceil(l.ratePerSecond)) })),
);

export const rateLimitsSchema = z.array(rateLimitSchema).check(
  z.maxLength(MAX_RATE_LIMITS),
  z.superRefine((limits, ctx) => {
    const seen = new Set<string>();
    limits.forEach((l, i) => {
      if (seen.has(l.name)) ctx.issues.push({ code: "custom", message: `duplicate limit name '${l.name}'`, input: l.name, path: [i, "name"] });
      seen.add(l.name);
    });
  }),
);

export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type RateLimitKey = RateLimitConfig["key"];

/**
 * A `jwtClaim` key reads the claims the service's `auth.jwt` verified; with
 * no `auth` there are none, so the limit would quietly fall back to the
 * client IP. Refused instead, at the key that needs it.
 */
export function rateLimitAuthIssues(limits: readonly RateLimitConfig[] | undefined, hasJwt: boolean): { index: number; message: string }[] {
  if (limits === undefined || hasJwt) return [];
  const issues: { index: number; message: string }[] = [];
  limits.forEach((l, index) => {
    if (typeof l.key === "object" && "jwtClaim" in l.key) issues.push({ index, message: "a jwtClaim key needs auth.jwt, which verifies the claims" });
  });
  return issues;
}
