import { declaredBodyLength } from "../../core/proxy/body-length.js";
import type { RequestState } from "../request-state.js";

/**
 * A streamed request body (over the retry cap, or chunked) is read by fetch
 * while the try runs, so a client that stops sending or hangs up part-way makes
 * the try fail exactly as an origin reset would. This wrapper sits between the
 * two and notes in the request state when the failure came from the client's
 * side (its stream errored, ended short of its Content-Length, or sent nothing
 * for `idleMs` while the try waited for it), so the try stage blames no origin
 * for it.
 *
 * It also keeps the time the try spends waiting for the client's next chunk
 * (`state.clientWaitMs`, `state.clientWaitingSince`): the per-try timeout
 * leaves that time out (try-origin.ts), so a client that uploads slowly does
 * not make a healthy origin look timed out. Time the origin spends not reading
 * is not waiting for the client, so an origin that stops reading still times out.
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
export function watchClientBody(state: RequestState, source: ReadableStream<Uint8Array>, idleMs: number): ReadableStream<Uint8Array> {
  const declared = declaredBodyLength(state.headers.get("content-length"));
  const abort = new AbortController();
  state.clientAbort = abort;
  const reader = source.getReader();
  let received = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const stopTimer = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const clientFailed = (): void => {
    stopTimer();
    state.clientFailed = true;
    abort.abort();
  };
  // One timer for the whole upload, re-armed when it fires early (as body-watch.ts does for answers).
  const check = (): void => {
    timer = null;
    const since = state.clientWaitingSince;
    if (since === null || state.clientFailed) return;
    const waited = Date.now() - since;
    if (waited < idleMs) timer = setTimeout(check, idleMs - waited);
    else clientFailed();
  };
  return new ReadableStream<Uint8Array>(
    {
      ...(declared === null ? {} : { expectedLength: declared }),
      async pull(controller) {
        const since = Date.now();
        state.clientWaitingSince = since;
        timer ??= setTimeout(check, idleMs);
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch {
          // Left pending: the abort cancels this stream along with the try.
          clientFailed();
          return;
        } finally {
          state.clientWaitingSince = null;
          state.clientWaitMs += Date.now() - since;
        }
        // Gave up on (idle) while the read was pending: the abort has cancelled this stream.
        if (state.clientFailed) return;
        if (!chunk.done) {
          received += chunk.value.byteLength;
          controller.enqueue(chunk.value);
        } else if (declared !== null && received < declared) {
          clientFailed();
        } else {
          stopTimer();
          controller.close();
        }
      },
      // fetch gave up on the body (the origin went away, or the try was aborted).
      cancel(reason) {
        stopTimer();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
