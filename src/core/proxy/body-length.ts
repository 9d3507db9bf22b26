/**
 * The byte length a Content-Length header declares, or null when there is
 * none or it is not a plain decimal (RFC 9110 §8.6: `1*DIGIT`; a list or a
 * sign makes the message length unknown to a proxy, so it streams unsized).
 */
export function declaredBodyLength(contentLength: string | null): number | null {
  if (contentLength === null || !/^\d{1,15}$/.test(contentLength)) return null;
  return Number(contentLength);
}

/**
 * The length a relayed body will have as the runtime hands it over: fetch
 * decodes a Content-Encoding, after which the origin's Content-Length no
 * longer counts the bytes read, so an encoded body is unsized.
 */
export function relayedBodyLength(headers: Headers): number | null {
  const encoding = headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") return null;
  return declaredBodyLength(headers.get("content-length"));
}
