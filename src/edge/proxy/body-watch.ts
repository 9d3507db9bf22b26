/**
 * Why an origin's response body failed after its headers had arrived: the
 * connection broke (`reset`) or no chunk came for the idle limit (`timeout`).
 */
export type BodyFailure = "reset" | "timeout";

/** The `upstream_body_failed` line (docs/analytics.md), for a body relayed broken or failed over alike. */
export function logBodyFailed(service: string, instance: string | null, why: BodyFailure, err: unknown): void {
  console.error(JSON.stringify({ event: "upstream_body_failed", service, instance, failure: why, message: String(err) }));
}

/** A body that failed while the try stage read it whole (try-origin.ts) or ahead (read-ahead.ts), and why. */
export class BodyFailed extends Error {
  constructor(
    readonly why: BodyFailure,
    message: string,
    /**
     * The body declared its length. Relayed as a stream that errors, a sized
     * body aborts the client's connection; an unsized one would be ended
     * cleanly by workerd, as if whole, so it is never relayed (failover.ts).
     */
    readonly sized: boolean = true,
  ) {
    super(message);
  }
}

/**
 * The start of an unsized body that the try read ahead (read-ahead.ts) but
 * not to its end (it passed MAX_BUFFERED_BODY_BYTES, or the hold ran out):
 * the watcher below relays its chunks first, then the rest of `reader`,
 * starting with the read that was still `pending` when the hold ran out.
 */
export class BodyHead {
  constructor(
    readonly chunks: Uint8Array[],
    readonly pending: Promise<ReadableStreamReadResult<Uint8Array>> | null,
    readonly reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {}
}

/**
 * What the client gets for a body that failed while it was read whole: the
 * same as from the watcher below, a stream that errors (and, sized, keeps its
 * length, so the runtime aborts the client's connection rather than end it).
 */
export function failedBody(err: BodyFailed, length: number | null): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    ...(length === null ? {} : { expectedLength: length }),
    start(controller) {
      controller.error(err);
    },
  });
}

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
 *
 * `ended`, when given, is called once when the body ends in any of these ways
 * (done, failed, timed out, cancelled): a capped service's answer gives its
 * concurrency slot back then (relay-slot.ts).
 */
export function watchBody(
  body: ReadableStream<Uint8Array> | BodyHead,
  idleMs: number,
  length: number | null,
  failed: (why: BodyFailure, err: unknown) => void,
  ended?: () => void,
): ReadableStream<Uint8Array> {
  // A body read ahead (read-ahead.ts) goes on from where the try got to.
  const source = body instanceof BodyHead ? new BodyWatch(body.reader, idleMs, failed, ended, body.chunks, body.pending) : new BodyWatch(body.getReader(), idleMs, failed, ended);
  // A sized body stays sized for the client, and a cut one cannot then be ended as if whole.
  if (length !== null) source.expectedLength = length;
  return new ReadableStream<Uint8Array>(source, { highWaterMark: 0 });
}

/**
 * The underlying source of the watched stream. One object per response, with
 * its callbacks made once: the per-chunk path is a read and a `then`, no
 * closure or async frame per chunk (it runs for every response the mesh relays).
 */
class BodyWatch implements UnderlyingSource<Uint8Array> {
  expectedLength?: number;
  #settled = false;
  /** When the pending read began; null while no read is pending. */
  #waitingSince: number | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;

  constructor(
    readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    readonly idleMs: number,
    readonly failed: (why: BodyFailure, err: unknown) => void,
    readonly ended?: () => void,
    /** Chunks read ahead, relayed first. */
    readonly head: Uint8Array[] = [],
    /** The read that was pending when the read-ahead stopped: the first pull's. */
    private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null,
  ) {}

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
    for (const chunk of this.head) controller.enqueue(chunk);
  }

  pull(): Promise<void> {
    this.#waitingSince = Date.now();
    this.#timer ??= setTimeout(this.#check, this.idleMs);
    const read = this.pending ?? this.reader.read();
    this.pending = null;
    return read.then(this.#onRead, this.#onError);
  }

  // The client went away (or stopped reading): not the origin's fault, nothing is reported.
  cancel(reason: unknown): Promise<void> {
    this.#settle();
    return this.reader.cancel(reason);
  }

  #onRead = (chunk: ReadableStreamReadResult<Uint8Array>): void => {
    this.#waitingSince = null;
    // Timed out or cancelled while the read was pending.
    if (this.#settled) return;
    if (chunk.done) {
      this.#settle();
      this.#controller?.close();
    } else {
      this.#controller?.enqueue(chunk.value);
    }
  };

  #onError = (err: unknown): void => {
    if (!this.#settled) this.#fail("reset", err);
  };

  #check = (): void => {
    this.#timer = null;
    if (this.#settled || this.#waitingSince === null) return;
    const waited = Date.now() - this.#waitingSince;
    if (waited < this.idleMs) {
      this.#timer = setTimeout(this.#check, this.idleMs - waited);
      return;
    }
    const err = new Error(`origin sent no body data for ${this.idleMs} ms`);
    this.#fail("timeout", err);
    void this.reader.cancel(err).catch(() => undefined);
  };

  #settle(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#settled) return;
    this.#settled = true;
    this.ended?.();
  }

  #fail(why: BodyFailure, err: unknown): void {
    this.#settle();
    this.failed(why, err);
    this.#controller?.error(err);
  }
}

/** Whether a response can carry body bytes at all; the others skip the watcher (and its stream). */
export function mayHaveBody(method: string, response: Response): boolean {
  if (response.body === null || method === "HEAD") return false;
  if (response.status === 204 || response.status === 304) return false;
  return response.headers.get("content-length") !== "0";
}
