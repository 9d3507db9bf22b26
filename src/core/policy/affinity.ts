import { cookieValue } from "../balance/hash/request-key.js";
import type { AffinityConfig } from "../schema/traffic-policy.js";
import type { HeaderReader } from "./split.js";

/**
 * Session affinity (Cloudflare LB's `__cflb` pattern): the response names the
 * instance that answered, in a cookie or a header, and later requests that
 * send it back go to that instance while it is healthy.
 *
 * The value is `<instance id>.<mac>`: the id (16 hex of the URL's SHA-256)
 * can only ever select a registered member, never an arbitrary URL, but ids
 * are not secret (every answer carries `x-mesh-instance`), so without the MAC
 * a client could choose its instance and pile its traffic onto one host. The
 * MAC is HMAC-SHA-256 over the service name and the id, truncated to 128 bits,
 * keyed by a key derived from the deployment's MESH_ADMIN_TOKEN: no new
 * secret to provision, and rotating the admin token re-pins every session
 * once (a new pick, a new cookie), which is harmless.
 */

export const PIN_MAC_BYTES = 16;
const PIN_FORMAT = /^([0-9a-f]{16})\.([A-Za-z0-9_-]{22})$/;
/** Domain separation: the admin token is never used as an HMAC key as it is. */
const KEY_LABEL = "switchyard/affinity/v1";

const utf8 = new TextEncoder();

/** WebCrypto's key type, named through the global `crypto` so the core compiles against Node's and workerd's types alike. */
export type AffinityKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The affinity key: HMAC(secret, KEY_LABEL), imported as an HMAC key. */
export async function affinityKey(secret: string): Promise<AffinityKey> {
  const outer = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const derived = await crypto.subtle.sign("HMAC", outer, utf8.encode(KEY_LABEL));
  return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The pin value for `id` in `service`. */
export async function signPin(key: AffinityKey, service: string, id: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, utf8.encode(`${service}\n${id}`));
  return `${id}.${base64url(new Uint8Array(mac).slice(0, PIN_MAC_BYTES))}`;
}

/** The instance id a well-formed value claims, or null; the claim still has to be verified. */
export function claimedId(value: string): string | null {
  const m = PIN_FORMAT.exec(value);
  return m === null ? null : (m[1] ?? null);
}

/** Compares without an early exit, so the time taken says nothing about where a forged MAC went wrong. */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The instance id of a genuine value, null for anything forged, malformed or from another service. */
export async function verifyPin(key: AffinityKey, service: string, value: string): Promise<string | null> {
  const id = claimedId(value);
  if (id === null) return null;
  return sameToken(await signPin(key, service, id), value) ? id : null;
}

/**
 * The affinity a fallback service pins a hopped request with: its own, under
 * `<name>.<fallback service>`. The pin travels on the path the client used,
 * the first service's, since that is where the client sends the next such
 * request; under the fallback's own name it was the same cookie as the first
 * service's pin whenever the two names matched (both the default, say), so
 * every hop replaced the client's pin to the first service, and every answer
 * of the first service the fallback's: neither session held across an outage.
 * In header mode a client that echoes the header it was given keeps its value
 * for the first service the same way.
 */
export function fallbackAffinity(affinity: AffinityConfig, fallbackService: string): AffinityConfig {
  return { ...affinity, name: `${affinity.name}.${fallbackService}` };
}

/** The value the client sent back, or null. */
export function readPin(affinity: AffinityConfig, headers: HeaderReader): string | null {
  const value = affinity.mode === "cookie" ? cookieValue(headers.get("cookie"), affinity.name) : headers.get(affinity.name);
  return value === null || value === "" ? null : value;
}

/**
 * The Set-Cookie value for a pin, scoped to the route prefix that matched. HttpOnly: scripts have no business with it;
 * SameSite=Lax: sent on top-level navigation, not by third-party subrequests;
 * Secure only over https, since a Secure cookie is dropped by clients on
 * plain http (local development, the loopback tests).
 */
export function pinCookie(affinity: AffinityConfig, value: string, secure: boolean, path = "/"): string {
  return `${affinity.name}=${value}; Max-Age=${affinity.ttlSeconds}; Path=${cookiePath(path)}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

/**
 * The cookie's Path: the route prefix that matched, so two services with
 * affinity on one host (say `/api` and `/cart`) each keep their own cookie of
 * the same name instead of overwriting each other's on every switch, and a
 * service's pin is not sent to the other. Where services nest (`/` and
 * `/api`), clients send the longer path's cookie first (RFC 6265 §5.4),
 * which is the one `readPin` takes. A prefix the attribute cannot carry
 * (`;`, a control or non-ASCII character) falls back to `/`.
 */
function cookiePath(prefix: string): string {
  return /^\/[\x21-\x3a\x3c-\x7e]*$/.test(prefix) ? prefix : "/";
}
