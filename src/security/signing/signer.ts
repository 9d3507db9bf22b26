import type { WebCryptoKey } from "../crypto-key.js";
import { toHex, utf8 } from "../encoding.js";
import {
  canonicalString,
  CONTENT_SHA256_HEADER,
  EMPTY_BODY_SHA256,
  formatSignatureHeader,
  pathWithQueryOf,
  SIGNATURE_HEADER,
  UNSIGNED_PAYLOAD,
} from "./canonical.js";

/**
 * Signs upstream requests with the service's HMAC secret (docs/security.md).
 * Runs in workerd: `crypto.subtle` only. Importing an HMAC key costs more than
 * the HMAC itself, so each secret's key is imported once per isolate and cached.
 */

// Keyed by the secret itself: it already lives in this isolate's env, and keying
// by a hash would cost a digest per request. Bounded so rotating secrets in a
// long-lived isolate cannot grow it without limit.
const KEY_CACHE_LIMIT = 64;
const keyCache = new Map<string, Promise<WebCryptoKey>>();

export function hmacKey(secret: string): Promise<WebCryptoKey> {
  const cached = keyCache.get(secret);
  if (cached !== undefined) return cached;
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  const key = crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // A failed import must not stay cached, or every later request would fail the same way.
  key.catch(() => keyCache.delete(secret));
  keyCache.set(secret, key);
  return key;
}

export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const key = await hmacKey(secret);
  return toHex(await crypto.subtle.sign("HMAC", key, utf8(message)));
}

export interface SignInput {
  method: string;
  url: string | URL;
  /** The buffered body, null for none, or "unsigned" for a body that is streamed through unbuffered. */
  body: ArrayBuffer | Uint8Array<ArrayBuffer> | null | "unsigned";
  /** Unix milliseconds (injected, so tests fix the clock). */
  now: number;
}

/** The two headers to add to the upstream request. */
export async function signatureHeaders(secret: string, input: SignInput): Promise<Record<string, string>> {
  const timestamp = Math.floor(input.now / 1000);
  let contentSha256: string;
  if (input.body === "unsigned") contentSha256 = UNSIGNED_PAYLOAD;
  else if (input.body === null || input.body.byteLength === 0) contentSha256 = EMPTY_BODY_SHA256;
  else contentSha256 = toHex(await crypto.subtle.digest("SHA-256", input.body));
  const message = canonicalString({
    timestamp,
    method: input.method,
    pathWithQuery: pathWithQueryOf(input.url),
    contentSha256,
  });
  return {
    [SIGNATURE_HEADER]: formatSignatureHeader(timestamp, [await hmacSha256Hex(secret, message)]),
    [CONTENT_SHA256_HEADER]: contentSha256,
  };
}

export interface SignRequestOptions {
  now: number;
  /**
   * Bodies with a declared Content-Length up to this size are buffered and
   * their digest signed; larger or unsized (chunked) bodies are streamed and
   * marked UNSIGNED-PAYLOAD, so the mesh never holds an unbounded body in the
   * isolate's 128 MB of memory.
   */
  maxSignedBodyBytes: number;
}

/**
 * Returns a copy of `request` (already addressed to the origin) carrying the
 * signature headers. Any signature headers a client sent are overwritten, so a
 * client cannot pass off its own value as the mesh's.
 */
export async function signRequest(request: Request, secret: string, options: SignRequestOptions): Promise<Request> {
  let body: SignInput["body"] = null;
  let forwardBody: ArrayBuffer | Request["body"] = request.body;
  if (request.body !== null) {
    const declared = Number(request.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(declared) && declared <= options.maxSignedBodyBytes) {
      const buffered = await request.arrayBuffer();
      body = buffered;
      forwardBody = buffered;
    } else {
      body = "unsigned";
    }
  }
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(
    await signatureHeaders(secret, { method: request.method, url: request.url, body, now: options.now }),
  )) {
    headers.set(name, value);
  }
  // `duplex` is required by Node's fetch for a streamed body (and ignored by workerd); the lib typings lack it.
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, body: forwardBody, redirect: "manual" };
  if (forwardBody instanceof ReadableStream) init.duplex = "half";
  return new Request(request.url, init);
}
