import { declaredBodyLength } from "../../core/proxy/body-length.js";
import type { RequestState } from "../request-state.js";

/**
 * A streamed request body (over the retry cap, or chunked) is read by fetch
 * while the try runs, so a client that stops sending or hangs up part-way makes
 * the try fail exactly as an origin reset would. This wrapper sits between the
 * two and notes in the request state when the failure came from the client's
 * side (its stream errored, or ended short of its Content-Length), so the try
 * stage blames no origin for it.
 *
 * On such a failure the try is aborted (`state.clientAbort`) rather than the
 * stream errored: workerd ends a chunked upload whose source stream errors
 * with a clean last chunk (measured: the origin saw a 5-byte body as complete),
 * while an aborted fetch drops the connection, so the origin never takes a
 * truncated upload for a whole one.
 *
 * A sized body keeps its length (workerd's `expectedLength`), so the origin
 * still gets a Content-Length instead of a chunked upload.
 */
export function watchClientBody(state: RequestState, source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const declared = declaredBodyLength(state.headers.get("content-length"));
  const abort = new AbortController();
  state.clientAbort = abort;
  const reader = source.getReader();
  let received = 0;
  const clientFailed = (): void => {
    state.clientFailed = true;
    abort.abort();
  };
  return new ReadableStream<Uint8Array>(
    {
      ...(declared === null ? {} : { expectedLength: declared }),
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch {
          // Left pending: the abort cancels this stream along with the try.
          clientFailed();
          return;
        }
        if (!chunk.done) {
          received += chunk.value.byteLength;
          controller.enqueue(chunk.value);
        } else if (declared !== null && received < declared) {
          clientFailed();
        } else {
          controller.close();
        }
      },
      // fetch gave up on the body (the origin went away, or the try was aborted).
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
