import { relayEnded, relayStarted } from "../../core/flow/concurrency.js";
import type { LocalServiceState } from "../../core/local-health/local-service-state.js";
import type { RequestState } from "../request-state.js";
import { BodyHead } from "./body-watch.js";

/**
 * maxConcurrentRequestsPerInstance counts a request until its answer's body
 * has been relayed in full, not only until the headers (core/flow/concurrency.ts):
 * the try's slot passes to a RelaySlot when its headers arrive, and the
 * relayed body gives it back when it ends (relayed-body.ts, body-watch.ts).
 * Only a capped service's answers get one; every other service pays one
 * field check per try and nothing per body.
 *
 * A slot that is never given back shuts its instance out of this isolate for
 * good, so every way an answer can end gives it back, once: its body done,
 * failed or timed out (the watcher), cancelled by the client, the client gone
 * (request.signal, which workerd aborts on a disconnect also mid-body), an
 * answer with no body or one read whole (relayed-body.ts), a failed answer
 * dropped for a retry (failover.ts), and one never sent because the mesh
 * failed (abandonRelay).
 */
export class RelaySlot {
  #held = true;
  #signal: AbortSignal | null = null;
  #done: (() => void) | null = null;

  constructor(
    readonly local: LocalServiceState,
    readonly id: string,
  ) {
    relayStarted(local, id);
  }

  /** Gives the slot back; later calls do nothing. An arrow, so it serves as a callback as it is. */
  readonly release = (): void => {
    if (!this.#held) return;
    this.#held = false;
    relayEnded(this.local, this.id);
    this.#signal?.removeEventListener("abort", this.release);
    this.#done?.();
  };

  /**
   * Keeps the request's work alive until the slot is given back, and gives it
   * back if the client goes away. A client that hangs up cancels its request,
   * and with it every continuation of its promises, the stream's cancel and
   * end included, unless waitUntil holds it (see route-request.ts). workerd
   * cancels the relayed stream of a client that resets mid-body (measured
   * locally, test/e2e/streaming-slot.test.ts); request.signal is the backstop
   * for an answer the runtime drops without reading or cancelling it. A
   * client already gone gets the slot released at once: nobody will read the body.
   */
  holdUntilReleased(signal: AbortSignal, ctx: ExecutionContext): void {
    if (!this.#held) return;
    if (signal.aborted) {
      this.release();
      return;
    }
    this.#signal = signal;
    signal.addEventListener("abort", this.release, { once: true });
    ctx.waitUntil(
      new Promise<void>((resolve) => {
        this.#done = resolve;
      }),
    );
  }
}

/**
 * Called as a try's answer arrives, before the try's own slot is given back
 * (failover.ts), so the instance is never seen free in between. A body the
 * try read whole (try-origin.ts) is complete, and so is a try with no answer:
 * neither holds anything. An unsized body read ahead next (read-ahead.ts)
 * holds it until it turns out whole, or until it has streamed.
 */
export function holdForRelay(state: RequestState, id: string): void {
  const local = state.local;
  const last = state.last;
  if (state.service?.maxConcurrentRequestsPerInstance === undefined || state.strict || local === null || last === null || last.response === null) return;
  if (last.ok && last.body !== null) return;
  state.relaySlot = new RelaySlot(local, id);
}

/** The answer holding a slot will not be relayed (dropped for a retry), or has nothing left to relay. */
export function releaseRelaySlot(state: RequestState): void {
  const slot = state.relaySlot;
  if (slot === null) return;
  state.relaySlot = null;
  slot.release();
}

/**
 * The mesh failed after an answer took a slot (route-request.ts answers 500
 * mesh_error instead): its body will never be sent, so it is cancelled,
 * which also lets the origin go, and the slot is given back.
 */
export function abandonRelay(state: RequestState, ctx: ExecutionContext): void {
  const slot = state.relaySlot;
  if (slot === null) return;
  const last = state.last;
  // A body read ahead in part is locked to the read-ahead's reader, which is what cancels it.
  const head = state.relayBody === null && last?.ok === true && last.body instanceof BodyHead ? last.body.reader : null;
  const body = state.relayBody instanceof ReadableStream ? state.relayBody : (head ?? last?.response?.body ?? null);
  // A body already handed to a Response is locked, and its cancel rejects: the release below still happens.
  if (body !== null) ctx.waitUntil(body.cancel().catch(() => undefined));
  releaseRelaySlot(state);
}
