import { MAX_BUFFERED_BODY_BYTES, readsAhead } from "../../core/proxy/body-length.js";
import type { RequestState } from "../request-state.js";
import { BodyFailed, BodyHead } from "./body-watch.js";
import { releaseRelaySlot } from "./relay-slot.js";

/**
 * The try stage's read-ahead of the answer it just got (failover.ts), after
 * the try has ended: its headers are in, so the hold is the mesh's own wait,
 * not the origin's. Neither stall avoidance nor the latency-aware balancers
 * count it as a wait for headers. A capped service's slot stays taken
 * through it (the answer's relay slot), and is given back at once when the
 * body turns out whole.
 */
export function readAnswerAhead(state: RequestState, holdMs: number): Promise<void> | null {
  const last = state.last;
  // Null when there is nothing to read ahead, so the try stage awaits nothing (most answers: sized, read whole).
  if (holdMs <= 0 || last === null || !last.ok || last.body !== null || last.response.body === null) return null;
  if (!readsAhead(state.method, last.response.status, last.response.headers)) return null;
  const response = last.response;
  // workers-types declare Response.body as ReadableStream<any>; a fetched body is bytes.
  return readAhead(response.body as ReadableStream<Uint8Array>, holdMs).then((body) => {
    state.last = { ok: true, response, latencyMs: last.latencyMs, body };
    if (body instanceof ArrayBuffer) releaseRelaySlot(state);
  });
}

/**
 * Reads an unsized (chunked) answer's body before its headers are relayed,
 * for at most `holdMs` and about MAX_BUFFERED_BODY_BYTES. workerd ends a
 * chunked answer with a clean last chunk even when the origin's body broke
 * (cloudflare/workerd#6818), so once the headers are out a cut is invisible
 * to the client. Read ahead, a body that ends in time is complete (its bytes,
 * relayed sized), and one that breaks in time has sent the client nothing:
 * the try failed (BodyFailed) and can fail over. A body still coming when the
 * hold runs out, or larger than the cap, is streamed from where it got to
 * (BodyHead), as every unsized body was before: a stream's first byte is late
 * by at most `holdMs`.
 *
 * The hold is not an idle limit: a body that sends nothing within it is
 * streamed, and retry.bodyIdleTimeoutMs (the watcher) governs it from there.
 */
export function readAhead(body: ReadableStream<Uint8Array>, holdMs: number): Promise<ArrayBuffer | BodyFailed | BodyHead> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let settled = false;
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  return new Promise((resolve) => {
    const settle = (result: ArrayBuffer | BodyFailed | BodyHead): void => {
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // The read pending when the hold runs out is handed over with the head: its chunk is the stream's next.
    const timer = setTimeout(() => {
      if (!settled) settle(new BodyHead(chunks, pending, reader));
    }, holdMs);
    const onRead = (read: ReadableStreamReadResult<Uint8Array>): void => {
      if (settled) return;
      pending = null;
      if (read.done) return settle(joined(chunks, bytes));
      chunks.push(read.value);
      bytes += read.value.byteLength;
      if (bytes > MAX_BUFFERED_BODY_BYTES) return settle(new BodyHead(chunks, null, reader));
      next();
    };
    const onError = (err: unknown): void => {
      if (!settled) settle(new BodyFailed("reset", err instanceof Error ? err.message : String(err), false));
    };
    const next = (): void => {
      pending = reader.read();
      pending.then(onRead, onError);
    };
    next();
  });
}

function joined(chunks: Uint8Array[], bytes: number): ArrayBuffer {
  const whole = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return whole.buffer;
}
