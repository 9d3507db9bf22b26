// @ts-check
// Verifies that a request reached this origin through the Switchyard mesh.
// Self-contained (node:crypto only, no build step): copy this one file into an
// origin, or import it from a checkout. The format is in docs/security.md; the
// mesh side is src/security/signing/, and a unit test signs there and verifies
// here so the two cannot drift.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-mesh-signature";
export const CONTENT_SHA256_HEADER = "x-mesh-content-sha256";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
const SCHEME = "MESH-HMAC-SHA256";
const DEFAULT_TOLERANCE_SECONDS = 60;

/**
 * What verifyMeshSignature checks. The types are JSDoc so the file stays one
 * file with no build step; a TypeScript origin sees them with `allowJs`.
 * @typedef {object} VerifyInput
 * @property {string | readonly string[]} secret The service's signing secret; pass [new, old] while rotating.
 * @property {string} method The request method as received.
 * @property {string} url Path and query exactly as received (Node: `req.url`), not decoded or normalised.
 * @property {Headers | Readonly<Record<string, string | readonly string[] | undefined>>} headers
 *   Node `req.headers`, a Fetch `Headers`, or a plain record.
 * @property {Uint8Array | string} [body] The raw body bytes; omit (or "") for a request without a body.
 * @property {number} [now] Unix milliseconds; defaults to Date.now().
 * @property {number} [toleranceSeconds] Allowed clock difference either way; default 60.
 * @property {boolean} [allowUnsignedPayload]
 *   Accept bodies the mesh streamed unsigned (x-mesh-content-sha256: UNSIGNED-PAYLOAD). Default false.
 * @property {(key: string, expiresAtMs: number) => boolean | Promise<boolean>} [replayGuard]
 *   Replay protection within the window, the origin's job: called only for an
 *   otherwise valid request with a key unique to it (the hex SHA-256 of the signed
 *   canonical string, the same however the header is rewritten) and the time (Unix ms) after
 *   which the window has closed and the key may be forgotten. Return true if the
 *   key was not seen before (and remember it), false for a replay.
 */

/**
 * @typedef {"missing_signature" | "malformed_signature" | "timestamp_skew" | "bad_signature"
 *           | "body_mismatch" | "unsigned_payload" | "replayed"} VerifyFailure
 * @typedef {{ ok: true, timestamp: number, unsignedPayload: boolean } | { ok: false, reason: VerifyFailure }} VerifyResult
 */

/** @param {string} value */
function parseHeader(value) {
  /** @type {number | undefined} */
  let timestamp;
  /** @type {string[]} */
  const signatures = [];
  for (const item of value.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) return undefined;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === "t") {
      if (!/^\d{1,12}$/.test(val) || timestamp !== undefined) return undefined;
      timestamp = Number(val);
    } else if (key === "v1") {
      if (!/^[0-9a-f]{64}$/.test(val)) return undefined;
      signatures.push(val);
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Node's IncomingHttpHeaders (lowercase keys, string | string[]), a Fetch
 * Headers, or a plain record: the one header value, or undefined if absent or repeated.
 * @param {VerifyInput["headers"]} headers
 * @param {string} name
 */
function headerOf(headers, name) {
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(name) ?? undefined;
  const record = /** @type {Record<string, string | string[] | undefined>} */ (headers);
  const value = record[name] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  // A repeated signature header is ambiguous; refuse it rather than pick one.
  return Array.isArray(value) ? undefined : value;
}

/**
 * Constant-time comparison of two lowercase hex strings of equal length.
 * @param {string} a
 * @param {string} b
 */
function sameHex(a, b) {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * @param {VerifyInput} input
 * @returns {Promise<VerifyResult>}
 */
export async function verifyMeshSignature(input) {
  /** @type {readonly string[]} */
  const secrets = Array.isArray(input.secret) ? input.secret : [input.secret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new TypeError("verifyMeshSignature: secret must be a non-empty string or array of them");
  }
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowMs = input.now ?? Date.now();

  const raw = headerOf(input.headers, SIGNATURE_HEADER);
  const contentSha256 = headerOf(input.headers, CONTENT_SHA256_HEADER);
  if (raw === undefined || contentSha256 === undefined) return { ok: false, reason: "missing_signature" };
  const parsed = parseHeader(raw);
  if (parsed === undefined) return { ok: false, reason: "malformed_signature" };
  if (contentSha256 !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(contentSha256)) {
    return { ok: false, reason: "malformed_signature" };
  }

  if (Math.abs(nowMs / 1000 - parsed.timestamp) > tolerance) return { ok: false, reason: "timestamp_skew" };

  const canonical = [SCHEME, String(parsed.timestamp), input.method.toUpperCase(), input.url, contentSha256].join("\n");
  const expected = secrets.map((s) => createHmac("sha256", s).update(canonical, "utf8").digest("hex"));
  // Every pair is compared (no early exit) so timing does not reveal which matched.
  let matched = false;
  for (const e of expected) for (const got of parsed.signatures) matched = sameHex(e, got) || matched;
  if (!matched) return { ok: false, reason: "bad_signature" };

  // The body is checked after the signature, so an unsigned caller cannot use
  // the digest check to learn anything.
  const unsignedPayload = contentSha256 === UNSIGNED_PAYLOAD;
  if (unsignedPayload) {
    if (input.allowUnsignedPayload !== true) return { ok: false, reason: "unsigned_payload" };
  } else {
    const body = input.body ?? "";
    const actual = createHash("sha256").update(body).digest("hex");
    if (!sameHex(actual, contentSha256)) return { ok: false, reason: "body_mismatch" };
  }

  if (input.replayGuard !== undefined) {
    // The key is what the signature covers, never the header's text: only one v1= has to match, so a
    // replay with another v1= added, repeated or reordered would otherwise bring a key never seen.
    const key = createHash("sha256").update(canonical, "utf8").digest("hex");
    const first = await input.replayGuard(key, (parsed.timestamp + tolerance) * 1000);
    if (!first) return { ok: false, reason: "replayed" };
  }
  return { ok: true, timestamp: parsed.timestamp, unsignedPayload };
}
