import type { BucketLimit } from "./token-bucket.js";

/**
 * The control-plane rate limits as configured by the Worker var
 * `CONTROL_PLANE_RATE_LIMITS` (docs/api.md, "Limits"). Pure: the caller reads
 * the var and logs the warning.
 *
 * Grammar: `off`, or a comma-separated list of `class=perSecond/burst` where
 * class is `admin`, `token` (a registration token) or `ip` (no token: the
 * client IP). A class not listed keeps its default; an empty value means all
 * defaults.
 *
 * A value that does not parse is refused as a whole: every class gets its
 * default and a warning says why. Half-applying it would leave limits nobody
 * asked for, and reading a typo as "no limit" would open the control plane by
 * accident, so only the exact word `off` turns the limiter off.
 */
export interface RateLimits {
  admin: BucketLimit;
  registrationToken: BucketLimit;
  clientIp: BucketLimit;
}

export type RateLimitSettings = { enabled: false } | { enabled: true; limits: RateLimits };

export interface ParsedRateLimits {
  settings: RateLimitSettings;
  /** Why the value was refused (the defaults apply), or null when it was taken as written. */
  warning: string | null;
}

/**
 * The admin token's budget is sized for a person or a deploy script; a
 * registration token's for a whole service (MAX_ACTIVE_INSTANCES = 1,000
 * origins registering at once, then heartbeating every few seconds).
 */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  admin: Object.freeze({ perSecond: 20, burst: 40 }),
  registrationToken: Object.freeze({ perSecond: 200, burst: 1000 }),
  clientIp: Object.freeze({ perSecond: 10, burst: 20 }),
});

/** The names used in the var, for each class. */
export const RATE_LIMIT_CLASSES = { admin: "admin", token: "registrationToken", ip: "clientIp" } as const satisfies Record<string, keyof RateLimits>;

/**
 * Bounds on a configured number. A rate of 0 would never refill (and its
 * Retry-After would divide by zero) and a burst under 1 refuses everything;
 * the upper bound keeps `Infinity`-like values from passing for a limit
 * (`off` is the way to say unlimited).
 */
export const MAX_CONFIGURED_LIMIT = 1_000_000;

const ENTRY = /^([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+)$/i;

type Entry = { ok: true; key: keyof RateLimits; limit: BucketLimit } | { ok: false; reason: string };

function isClass(name: string): name is keyof typeof RATE_LIMIT_CLASSES {
  return Object.hasOwn(RATE_LIMIT_CLASSES, name);
}

function parseEntry(entry: string): Entry {
  const m = ENTRY.exec(entry);
  if (m === null) return { ok: false, reason: `"${entry}" is not class=perSecond/burst` };
  const [, rawName = "", rawRate = "", rawBurst = ""] = m;
  const name = rawName.toLowerCase();
  if (!isClass(name)) return { ok: false, reason: `"${rawName}" is not one of ${Object.keys(RATE_LIMIT_CLASSES).join(", ")}` };
  const perSecond = Number(rawRate);
  const burst = Number(rawBurst);
  if (perSecond <= 0 || perSecond > MAX_CONFIGURED_LIMIT) return { ok: false, reason: `${name}: perSecond must be over 0 and at most ${MAX_CONFIGURED_LIMIT}` };
  if (burst < 1 || burst > MAX_CONFIGURED_LIMIT) return { ok: false, reason: `${name}: burst must be 1 to ${MAX_CONFIGURED_LIMIT}` };
  return { ok: true, key: RATE_LIMIT_CLASSES[name], limit: { perSecond, burst } };
}

function defaults(warning: string | null): ParsedRateLimits {
  return { settings: { enabled: true, limits: DEFAULT_RATE_LIMITS }, warning };
}

/**
 * `raw` is whatever the var holds: the generated Env says string, but wrangler
 * passes an unquoted [vars] value (`= 0`, `= false`, a table) through as
 * that JSON value, and that must warn like any other bad value, not throw
 * on every control-plane request.
 */
export function parseRateLimits(raw: unknown): ParsedRateLimits {
  if (raw !== undefined && typeof raw !== "string") {
    return defaults(`CONTROL_PLANE_RATE_LIMITS ignored, defaults apply: it is a ${raw === null ? "null" : typeof raw}, not a string`);
  }
  const value = (raw ?? "").trim();
  if (value.toLowerCase() === "off") return { settings: { enabled: false }, warning: null };
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS };
  const seen = new Set<keyof RateLimits>();
  // Empty entries (a trailing comma, or an empty value) say nothing and are skipped.
  for (const entry of value.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const parsed = parseEntry(entry);
    if (!parsed.ok) return defaults(`CONTROL_PLANE_RATE_LIMITS ignored, defaults apply: ${parsed.reason}`);
    if (seen.has(parsed.key)) return defaults(`CONTROL_PLANE_RATE_LIMITS ignored, defaults apply: "${entry}" sets a class twice`);
    seen.add(parsed.key);
    limits[parsed.key] = parsed.limit;
  }
  return { settings: { enabled: true, limits }, warning: null };
}
