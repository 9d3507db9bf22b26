import { canonicalOrigin } from "../net/origin-guard.js";
import { refusingPrototypeKeys } from "./prototype-keys.js";
import * as z from "./zod.js";

/**
 * Every stored field is bounded by the store it lands in. The instance's KV
 * key carries `{ url, weight, zone }` as metadata (src/registry/kv-registry.ts),
 * and KV refuses metadata whose JSON is over 1,024 bytes: past that the mirror
 * write fails after the coordinator has already saved the member. So the url's
 * budget is what is left of 1,024 bytes once the largest weight and zone are in.
 * A non-zero `priority` rides along when it fits (up to 14 more bytes, so all
 * but urls within 14 bytes of that budget with the largest zone and weight);
 * `location` never does. The KV fallback reads only the metadata.
 */
export const KV_METADATA_LIMIT_BYTES = 1024;
export const MAX_WEIGHT = 1000;
export const MAX_ZONE_BYTES = 64;
/** Priority levels 0 (primary) to 99. */
export const MAX_PRIORITY = 99;
export const MAX_METADATA_ENTRIES = 16;
export const MAX_METADATA_KEY_LENGTH = 64;
export const MAX_METADATA_VALUE_LENGTH = 256;

const utf8 = new TextEncoder();
/** With the `u` flag a surrogate pair is one code point, so this matches only a surrogate without its pair. */
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Bytes of a string once JSON-encoded (escapes included), without the two quotes. */
export function jsonStringBytes(s: string): number {
  return utf8.encode(JSON.stringify(s)).length - 2;
}

/** The byte size of the KV metadata object for one instance, as KV measures it (its JSON). */
export function instanceKeyMetadataBytes(url: string, weight: number, zone: string | null): number {
  return utf8.encode(JSON.stringify({ url, weight, zone })).length;
}

/** Room left for the url (JSON-encoded) once the largest weight and zone are in the metadata. */
export const MAX_URL_BYTES = KV_METADATA_LIMIT_BYTES - instanceKeyMetadataBytes("", MAX_WEIGHT, "z".repeat(MAX_ZONE_BYTES));

/** The url is stored in its canonical form, which percent-encoding can make longer than what was sent. */
function storedUrlFits(u: string): boolean {
  // Too long or unparsable: the other checks already name the problem, once.
  if (u.length > MAX_URL_BYTES || !URL.canParse(u)) return true;
  return jsonStringBytes(canonicalOrigin(new URL(u))) <= MAX_URL_BYTES;
}

const metadataSchema = z
  .record(z.string().check(z.maxLength(MAX_METADATA_KEY_LENGTH)), z.string().check(z.maxLength(MAX_METADATA_VALUE_LENGTH)))
  .check(
    z.refine((m: Record<string, string>) => Object.keys(m).length <= MAX_METADATA_ENTRIES, `at most ${MAX_METADATA_ENTRIES} entries`),
  );

/** Body of `POST /_mesh/v1/services/{name}/instances`. */
export const registerInstanceSchema = z.strictObject({
  url: z
    .string()
    .check(
      z.maxLength(MAX_URL_BYTES, `must be at most ${MAX_URL_BYTES} characters (it is stored in KV key metadata)`),
      z.refine((u: string) => URL.canParse(u), "must be an absolute http(s) URL"),
      z.refine((u: string) => /^https?:\/\//i.test(u), "must use http or https"),
      z.refine(storedUrlFits, `must be at most ${MAX_URL_BYTES} bytes once normalised and JSON-encoded (KV key metadata)`),
    ),
  weight: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_WEIGHT)), 1),
  zone: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(MAX_ZONE_BYTES),
        z.refine((s: string) => s.length > MAX_ZONE_BYTES || jsonStringBytes(s) <= MAX_ZONE_BYTES, `must be at most ${MAX_ZONE_BYTES} bytes JSON-encoded`),
        // The coordinator keeps the zone in a SQLite text column, which is UTF-8: a lone surrogate has no
        // form there and came back as replacement characters after a reload, another zone than the one mirrored.
        z.refine((s: string) => !LONE_SURROGATE.test(s), "must be well-formed Unicode (no lone surrogate)"),
      ),
  ),
  // Traffic goes to the lowest level with healthy instances (docs/api.md, "Priority pools and fallback").
  priority: z.optional(z.number().check(z.int(), z.gte(0), z.lte(MAX_PRIORITY))),
  // Where the origin runs, for `locality: {"mode": "proximity"}`.
  location: z.optional(
    z.strictObject({
      latitude: z.number().check(z.gte(-90), z.lte(90)),
      longitude: z.number().check(z.gte(-180), z.lte(180)),
    }),
  ),
  metadata: z.optional(refusingPrototypeKeys(metadataSchema)),
  ttlSeconds: z.optional(z.number().check(z.int(), z.gte(5), z.lte(86_400))),
});

export const instanceIdSchema = z.string().check(z.regex(/^[a-f0-9]{16}$/, "must be an instance id (16 hex digits)"));

/** Membership state, owned by the lease; health is tracked separately. */
export type Membership = "active" | "draining" | "expired";
/** What the API shows: membership wins over health. */
export type PublicState = "healthy" | "unhealthy" | "draining" | "expired";
