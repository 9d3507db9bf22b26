import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import { MeshError } from "../core/errors.js";
import { clientNetwork } from "../core/net/client-network.js";
import { DEFAULT_RATE_LIMITS, parseRateLimits, type RateLimitSettings } from "../core/rate-limit/settings.js";
import { RateLimiter } from "../core/rate-limit/token-bucket.js";
import { sha256Hex } from "../core/sha256.js";
import { bearerToken } from "./auth.js";

/**
 * Control-plane limits (docs/api.md, "Limits"), checked before auth and
 * before any body is read.
 *
 * Rate: a token bucket per caller in isolate memory, keyed by the SHA-256 of
 * the presented bearer token (never the token itself), or by client IP when
 * there is none. The limits per class come from the CONTROL_PLANE_RATE_LIMITS
 * var (src/core/rate-limit/settings.ts; `off` turns the limiter off, for the
 * benchmark and for operators seeding big fleets). A request answered 401
 * also costs its client IP a token, and a client IP with none left is refused
 * whatever token it shows, so presenting a fresh made-up token per request
 * does not escape the limit.
 */

/** The limits when CONTROL_PLANE_RATE_LIMITS is unset, empty or refused. */
export const RATE_LIMITS = DEFAULT_RATE_LIMITS;

/**
 * Body bounds, refused with 413 before parsing. 64 KiB holds any valid
 * instance registration many times over; a service config at its schema's
 * limits (100 hosts and 100 path prefixes of up to 1,024 characters) is
 * about 130 KB, so `PUT /services/{name}` gets 256 KiB.
 */
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_CONFIG_BODY_BYTES = 256 * 1024;

const limiter = new RateLimiter();
let adminDigest: { token: string; digest: string } | null = null;

async function adminTokenDigest(token: string | undefined): Promise<string | null> {
  if (token === undefined || token === "") return null;
  if (adminDigest?.token !== token) adminDigest = { token, digest: await sha256Hex(token) };
  return adminDigest.digest;
}

let settings: { raw: unknown; parsed: RateLimitSettings } | null = null;

/**
 * The var is parsed once per isolate; the cache is keyed by the raw string
 * because tests pass a different env per call. A refused value is logged
 * once here, not on every request.
 */
function rateLimitSettings(raw: unknown): RateLimitSettings {
  if (settings === null || settings.raw !== raw) {
    const { settings: parsed, warning } = parseRateLimits(raw);
    if (warning !== null) console.warn(JSON.stringify({ event: "config_warning", name: "CONTROL_PLANE_RATE_LIMITS", message: warning }));
    settings = { raw, parsed };
  }
  return settings.parsed;
}

function rateLimited(retryAfterMs: number): MeshError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new MeshError(429, "rate_limited", `too many control-plane requests from this caller; retry after ${seconds} s`, {
    headers: { "retry-after": String(seconds) },
  });
}

export const rateLimit = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const configured = rateLimitSettings(c.env.CONTROL_PLANE_RATE_LIMITS);
  if (!configured.enabled) return next();
  const limits = configured.limits;
  const now = Date.now();
  // An IPv6 caller by its /64 (core/net/client-network.ts): fresh addresses from one network share one budget.
  const ipKey = `ip:${clientNetwork(c.req.header("cf-connecting-ip") ?? "unknown")}`;
  const presented = bearerToken(c.req.header("authorization"));
  if (presented === null) {
    const taken = limiter.take(ipKey, limits.clientIp, now);
    if (!taken.ok) throw rateLimited(taken.retryAfterMs);
  } else {
    const ip = limiter.peek(ipKey, limits.clientIp, now);
    if (!ip.ok) throw rateLimited(ip.retryAfterMs);
    const digest = await sha256Hex(presented);
    const limit = digest === (await adminTokenDigest(c.env.MESH_ADMIN_TOKEN)) ? limits.admin : limits.registrationToken;
    const taken = limiter.take(`token:${digest}`, limit, now);
    if (!taken.ok) throw rateLimited(taken.retryAfterMs);
  }
  await next();
  if (presented !== null && c.res.status === 401) limiter.take(ipKey, limits.clientIp, Date.now());
});

const SERVICE_PATH = /^\/_mesh\/v1\/services\/[^/]+$/;

function payloadTooLarge(max: number): Response {
  return new MeshError(413, "payload_too_large", `request body is over the ${max / 1024} KiB limit`).toResponse();
}

const configBodyLimit = bodyLimit({ maxSize: MAX_CONFIG_BODY_BYTES, onError: () => payloadTooLarge(MAX_CONFIG_BODY_BYTES) });
const defaultBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => payloadTooLarge(MAX_BODY_BYTES) });

/** A declared Content-Length over the bound is refused at once; a streamed body is counted as it arrives. */
export const limitBody = createMiddleware<{ Bindings: Env }>((c, next) =>
  c.req.method === "PUT" && SERVICE_PATH.test(c.req.path) ? configBodyLimit(c, next) : defaultBodyLimit(c, next),
);
