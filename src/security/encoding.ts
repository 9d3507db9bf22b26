/**
 * Byte encodings the security modules share. Pure and runtime-neutral: the same
 * code runs in workerd and in Node (`btoa`/`atob` exist in both), so tokens and
 * signatures decode identically in the Worker and in the unit tests.
 */

const utf8Encoder = new TextEncoder();
// `fatal` so a payload with invalid UTF-8 is refused rather than silently repaired.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function utf8(value: string): Uint8Array<ArrayBuffer> {
  // encode() always returns a fresh, non-shared buffer; some lib typings just do not say so.
  return utf8Encoder.encode(value) as Uint8Array<ArrayBuffer>;
}

/** Decodes UTF-8, or returns undefined for bytes that are not valid UTF-8. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** base64url without padding (RFC 7515 §2), or undefined for anything else. */
export function fromBase64Url(value: string): Uint8Array<ArrayBuffer> | undefined {
  // A length of 1 mod 4 cannot come from any byte string.
  if (!BASE64URL.test(value) || value.length % 4 === 1) return undefined;
  const b64 = value.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (value.length % 4)) % 4);
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Parses JSON and returns it only if it is a plain object (not an array, not null). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}
