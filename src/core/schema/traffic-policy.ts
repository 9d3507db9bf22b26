import { MAX_METADATA_KEY_LENGTH, MAX_METADATA_VALUE_LENGTH } from "./instance.js";
import { refusingPrototypeKeys } from "./prototype-keys.js";
import * as z from "./zod.js";

/**
 * The service fields of issue 10's session and canary policies: `affinity`
 * (session pinning), `split` (canary and traffic split by instance labels)
 * and `slowStartSeconds` (a new instance's weight ramps up). The rules that
 * run them are in src/core/policy/; docs/api.md has the examples.
 */

// RFC 9110 token: what a header and a cookie name may be.
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
const MESH_PREFIX = "x-mesh-";
/** Headers the mesh or HTTP itself owns: an affinity header named like one would fight with them. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "host", "cookie", "set-cookie", "authorization", "content-length", "content-type", "transfer-encoding", "connection",
  "x-mesh-instance", "x-mesh-attempts",
]);

export const MAX_SPLIT_RULES = 16;
export const MAX_SPLIT_SELECTOR_ENTRIES = 8;
export const MAX_AFFINITY_TTL_SECONDS = 7 * 86_400;
export const MAX_SLOW_START_SECONDS = 3_600;
export const DEFAULT_AFFINITY_COOKIE = "__mesh_affinity";
export const DEFAULT_AFFINITY_HEADER = "x-mesh-affinity";

const tokenName = z.string().check(z.minLength(1), z.maxLength(128), z.regex(TOKEN, "must be a valid header or cookie name (RFC 9110 token)"));

export const affinitySchema = z.pipe(
  z.strictObject({
    mode: z.enum(["cookie", "header"]),
    name: z.optional(tokenName),
    // Cloudflare LB's session_affinity_ttl defaults to 23 h; an hour suits a session of one sitting.
    ttlSeconds: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_AFFINITY_TTL_SECONDS)), 3_600),
  }).check(
    z.refine((a) => a.mode !== "header" || a.name === undefined || !RESERVED_HEADERS.has(a.name.toLowerCase()), {
      message: "names a header the mesh or HTTP already uses; pick another (e.g. x-mesh-affinity)",
      path: ["name"],
    }),
  ),
  // Resolved, so GET shows the name that runs. Header names are matched lowercased.
  z.transform((a) => ({
    mode: a.mode,
    name: a.mode === "cookie" ? (a.name ?? DEFAULT_AFFINITY_COOKIE) : (a.name ?? DEFAULT_AFFINITY_HEADER).toLowerCase(),
    ttlSeconds: a.ttlSeconds,
  })),
);

/** Instance labels a rule selects: every entry must equal the instance's `metadata` value. Bounded like metadata. */
const selectorSchema = refusingPrototypeKeys(
  z
    .record(z.string().check(z.minLength(1), z.maxLength(MAX_METADATA_KEY_LENGTH)), z.string().check(z.maxLength(MAX_METADATA_VALUE_LENGTH)))
    .check(
      z.refine((m: Record<string, string>) => {
        const n = Object.keys(m).length;
        return n >= 1 && n <= MAX_SPLIT_SELECTOR_ENTRIES;
      }, `must name 1 to ${MAX_SPLIT_SELECTOR_ENTRIES} labels`),
    ),
);

/** Leading and trailing space and tab: the whitespace a header value never keeps (RFC 9110 §5.5). */
const HTTP_WHITESPACE_AROUND = /^[ \t]+|[ \t]+$/g;

/**
 * Request headers a match rule compares. Matched as the origin would receive
 * them, so the mesh's own `x-mesh-*` (which clients may not set) cannot be used.
 */
const headerMatchSchema = z.pipe(
  refusingPrototypeKeys(
    z.record(z.string().check(z.minLength(1), z.maxLength(128), z.regex(TOKEN, "must be a valid header name")), z.string().check(z.maxLength(MAX_METADATA_VALUE_LENGTH)))
    .check(
      z.refine((m: Record<string, string>) => {
        const n = Object.keys(m).length;
        return n >= 1 && n <= MAX_SPLIT_SELECTOR_ENTRIES;
      }, `must name 1 to ${MAX_SPLIT_SELECTOR_ENTRIES} headers`),
      z.refine((m: Record<string, string>) => !Object.keys(m).some((k) => k.toLowerCase().startsWith(MESH_PREFIX)), "x-mesh-* headers are the mesh's own; clients cannot set them"),
    ),
  ),
  // Lowercased names, in a plain list: a header name cannot then collide with an Object slot. Values without the
  // whitespace around them, which HTTP strips from every header value (RFC 9110 §5.5, as Headers does): kept, a
  // rule for " 1" was compared with a request's "1" and took nothing.
  z.transform((m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v.replace(HTTP_WHITESPACE_AROUND, "")]))),
);

const splitRuleSchema = z
  .strictObject({
    match: z.optional(z.strictObject({ header: headerMatchSchema })),
    percent: z.optional(z.number().check(z.gt(0), z.lte(100))),
    to: selectorSchema,
  })
  .check(
    z.refine((r) => (r.match === undefined) !== (r.percent === undefined), {
      message: 'a rule has exactly one of "match" (header rule) or "percent" (share of the remaining traffic)',
      path: ["percent"],
    }),
  );

/**
 * Shares written in decimals add up in doubles with rounding: 0.2 + 83.9 + 15.9
 * is 100.00000000000001. A billionth of a percent of slack accepts every such
 * sum and no real excess; the bands then end a hair past 100, beyond any draw.
 */
const PERCENT_SUM_SLACK = 1e-9;

export const splitSchema = z.array(splitRuleSchema).check(
  z.minLength(1),
  z.maxLength(MAX_SPLIT_RULES),
  z.refine((rules) => rules.reduce((sum, r) => sum + (r.percent ?? 0), 0) <= 100 + PERCENT_SUM_SLACK, "the percent rules add up to more than 100"),
);

export const slowStartSecondsSchema = z.number().check(z.int(), z.gte(0), z.lte(MAX_SLOW_START_SECONDS));

export type AffinityConfig = z.output<typeof affinitySchema>;
export type SplitRule = z.output<typeof splitRuleSchema>;

/**
 * Why strict mode refuses these policies (a 400 at the field): the coordinator
 * makes every strict pick from its global rotation and sees neither the
 * request's cookie or headers nor per-isolate draws.
 */
export function strictPolicyRefusal(field: "affinity" | "split" | "slowStartSeconds"): string {
  return (
    `${field} cannot run with routing.mode "strict": strict mode has the coordinator make every pick from one global rotation, ` +
    `and ${field} needs the request's own cookie, headers or a weighted draw at the edge. Use routing.mode "snapshot"`
  );
}
