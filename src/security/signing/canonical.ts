/**
 * The mesh request signature: header format and canonical string. Pure, so the
 * exact bytes that get signed are unit-tested; verify/verify-mesh-signature.mjs
 * (the Node verifier origins use) rebuilds the same string, and a test signs
 * here and verifies there so the two cannot drift. docs/security.md documents it.
 */

export const SIGNATURE_HEADER = "x-mesh-signature";
export const CONTENT_SHA256_HEADER = "x-mesh-content-sha256";
/** Marks a body the mesh streamed instead of buffering, as S3 SigV4 does. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
/** The first line of the canonical string; a new scheme gets a new tag (and a new `v<n>=`). */
export const SCHEME = "MESH-HMAC-SHA256";
/** SHA-256 of zero bytes: the digest of a request without a body. */
export const EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface SignedParts {
  /** Unix seconds. */
  timestamp: number;
  method: string;
  /** Path and query exactly as sent to the origin, e.g. `/v1/items?id=7`. */
  pathWithQuery: string;
  /** Lowercase hex SHA-256 of the body, or UNSIGNED_PAYLOAD. */
  contentSha256: string;
}

/**
 * The five lines, joined by "\n" with no trailing newline. The method is
 * uppercased; the path is taken byte for byte (no decoding, no normalisation),
 * since any rewrite an intermediary makes must break the signature.
 */
export function canonicalString(parts: SignedParts): string {
  return [SCHEME, String(parts.timestamp), parts.method.toUpperCase(), parts.pathWithQuery, parts.contentSha256].join(
    "\n",
  );
}

export function formatSignatureHeader(timestamp: number, signaturesHex: readonly string[]): string {
  return [`t=${timestamp}`, ...signaturesHex.map((s) => `v1=${s}`)].join(",");
}

export interface ParsedSignatureHeader {
  timestamp: number;
  /** Every `v1=` value; more than one while a secret is being rotated. */
  signatures: string[];
}

/** Parses `t=<unix>,v1=<hex>[,v1=<hex>]`; unknown keys are skipped so later versions can be added alongside. */
export function parseSignatureHeader(value: string): ParsedSignatureHeader | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
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

/** The path and query of a URL as the origin will see them in its request line. */
export function pathWithQueryOf(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url) : url;
  return u.pathname + u.search;
}
