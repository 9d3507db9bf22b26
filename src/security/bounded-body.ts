/**
 * Reads a response body as text, refusing it once it passes `maxBytes`.
 *
 * Why: token endpoints and JWKS servers are outside the mesh. `res.text()`
 * buffers whatever they send (10 MB, or an endless stream until the fetch's
 * timeout) in an isolate that has 128 MB for every request it serves; a token
 * or key set never needs more than a few KiB. The stream is cancelled at the
 * cap, so the connection is let go at once instead of drained.
 */
export async function boundedText(res: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (res.body === null) return "";
  if (declared > maxBytes) {
    await res.body.cancel();
    return undefined;
  }
  // A fetch Response's body is a byte stream; the Workers typings leave its chunk type open.
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
