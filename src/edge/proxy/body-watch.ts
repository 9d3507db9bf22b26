/**
 * Why an origin's response body failed after its headers had arrived: the
 * connection broke (`reset`) or no chunk came for the idle limit (`timeout`).
 */
export type BodyFailure = "reset" | "timeout";

/**
 * Relays an origin's response body chunk by chunk, and turns the two ways it
 * can fail half-way into errors the client sees and the mesh counts:
 *
 * - the origin's stream errors (reset mid-body, or a body cut short of its
 *   Content-Length): the client's stream is errored too. A sized answer keeps
 *   its length, so the runtime must abort the client's connection. (An unsized
 *   one is ended with a clean last chunk by workerd today, whatever the stream
 *   does: cloudflare/workerd#6818; the error is all the mesh can give it.)
 * - no chunk arrives for `idleMs` while the client is waiting for one: the
 *   origin's body is cancelled and the client's stream errored.
 *
 * The idle clock runs only while a read is pending, so a slow client (which
 * stops pulling) is never blamed on the origin; and a client that goes away
 * cancels the stream, which reports nothing. One timer serves the whole body:
 * it is re-armed when it fires early, not on every chunk.
 */
export function watchBody(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  length: number | null,
  failed: (why: BodyFailure, err: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let settled = false;
  /** When the pending read began; null while no read is pending. */
  let waitingSince: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stream: ReadableStreamDefaultController<Uint8Array> | null = null;

  const settle = (): void => {
    settled = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const fail = (why: BodyFailure, err: unknown): void => {
    settle();
    failed(why, err);
    stream?.error(err);
  };
  const check = (): void => {
    timer = null;
    if (settled || waitingSince === null) return;
    const waited = Date.now() - waitingSince;
    if (waited < idleMs) {
      timer = setTimeout(check, idleMs - waited);
      return;
    }
    const err = new Error(`origin sent no body data for ${idleMs} ms`);
    fail("timeout", err);
    void reader.cancel(err).catch(() => undefined);
  };

  return new ReadableStream<Uint8Array>(
    {
      // A sized body stays sized for the client, and a cut one cannot then be ended as if whole.
      ...(length === null ? {} : { expectedLength: length }),
      start(controller) {
        stream = controller;
      },
      async pull(controller) {
        waitingSince = Date.now();
        timer ??= setTimeout(check, idleMs);
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (!settled) fail("reset", err);
          return;
        }
        waitingSince = null;
        // Timed out or cancelled while the read was pending.
        if (settled) return;
        if (chunk.done) {
          settle();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      },
      // The client went away (or stopped reading): not the origin's fault, nothing is reported.
      cancel(reason) {
        settle();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Whether a response can carry body bytes at all; the others skip the watcher (and its stream). */
export function mayHaveBody(method: string, response: Response): boolean {
  if (response.body === null || method === "HEAD") return false;
  if (response.status === 204 || response.status === 304) return false;
  return response.headers.get("content-length") !== "0";
}
