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

/**
 * Bodies up to this size are read whole by the try stage before the answer is
 * relayed (like nginx's default `proxy_buffering`), instead of being streamed
 * through a watcher: one native read instead of JavaScript per chunk. 64 KiB
 * is 16 of nginx's default 4 KiB proxy buffers, so at most that much memory
 * is held per request in flight.
 */
export const MAX_BUFFERED_BODY_BYTES = 64 * 1024;

/**
 * The length of a body the try stage reads whole (see MAX_BUFFERED_BODY_BYTES),
 * or null when it streams instead: no body (HEAD, 204, 304, length 0),
 * unsized, content-encoded (fetch decodes it, so the length would not count
 * the bytes read) or larger than the cap.
 */
export function bufferedBodyLength(method: string, status: number, contentEncoding: string | null, contentLength: string | null): number | null {
  if (method === "HEAD" || status === 204 || status === 304) return null;
  if (contentEncoding !== null && contentEncoding.trim().toLowerCase() !== "identity") return null;
  const length = declaredBodyLength(contentLength);
  return length === null || length === 0 || length > MAX_BUFFERED_BODY_BYTES ? null : length;
}

/**
 * Whether the try stage reads an answer's body ahead before relaying it
 * (edge/proxy/read-ahead.ts): a body relayed unsized, the one kind whose cut
 * the client cannot see (workerd ends it with a clean last chunk), so the
 * mesh must see it first. That is a chunked one, and an encoded one even with
 * a Content-Length (fetch decodes it, so the length no longer counts what is
 * relayed). Not when there is no body (HEAD, 204, 304), when it is relayed
 * with its length (read whole when small, and a cut aborts the client's
 * connection), for an event stream (its events must not wait), or when the
 * origin asks for its answer unbuffered with nginx's `X-Accel-Buffering: no`.
 */
export function readsAhead(method: string, status: number, headers: Headers): boolean {
  if (method === "HEAD" || status === 204 || status === 304) return false;
  if (relayedBodyLength(headers) !== null) return false;
  const type = headers.get("content-type");
  if (type !== null && type.trim().toLowerCase().startsWith("text/event-stream")) return false;
  return headers.get("x-accel-buffering")?.trim().toLowerCase() !== "no";
}
