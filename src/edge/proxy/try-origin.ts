import { bufferedBodyLength } from "../../core/proxy/body-length.js";
import type { TryFailure } from "../../core/retry/retry-policy.js";
import { classifyStatus } from "../../core/retry/retry-policy.js";
import { classifyFetchError } from "../../core/retry/fetch-errors.js";
import { BodyFailed, type BodyHead } from "./body-watch.js";

export type TryResult =
  /**
   * `body`: for a small sized answer read whole in the try (bufferIdleMs > 0),
   * its bytes, or why reading them failed; null when the body is left to
   * stream. The try stage may then read an unsized one ahead (read-ahead.ts),
   * which puts its bytes, its failure or its start (BodyHead) here.
   */
  | { ok: true; response: Response; latencyMs: number; body: ArrayBuffer | BodyFailed | BodyHead | null }
  | { ok: false; failure: TryFailure; response: Response | null; latencyMs: number };

/** What one try sends; the request state is one (failover.ts), so no object is made per try. */
export interface TryInit {
  method: string;
  headers: Headers;
  body: ArrayBuffer | ReadableStream | null;
  clientAbort?: AbortController | null;
  /** Time spent waiting for a streamed body's client (proxy/client-body.ts): not the origin's, so not timed. */
  clientWaitMs?: number;
  clientWaitingSince?: number | null;
  /** A WebSocket handshake: the origin's 101 with its socket is the answer, not a failed try. */
  webSocket?: boolean;
}

/** How long, up to `now`, the try has waited for the client's streamed body so far. */
function clientWaited(init: TryInit, now: number): number {
  const since = init.clientWaitingSince ?? null;
  return (init.clientWaitMs ?? 0) + (since === null ? 0 : now - since);
}

/**
 * The try's wait for headers, less the time it spent waiting for the client's
 * upload: the origin's own time, which the latency-aware balancers and the
 * coordinator's latency figures are about (a slow client is not a slow origin).
 */
function originTime(init: TryInit, started: number, waitedBefore: number): number {
  const now = Date.now();
  return now - started - (clientWaited(init, now) - waitedBefore);
}

function classifyThrow(err: unknown, target: string): TryFailure {
  const message = err instanceof Error ? err.message : String(err);
  const retryable = typeof err === "object" && err !== null && "retryable" in err ? err.retryable === true : undefined;
  return classifyFetchError({ message, retryable, hostname: new URL(target).hostname });
}

/**
 * One try against one origin. The per-try timeout covers the wait for response
 * headers. A successful answer's body is then either read whole here (small
 * and sized, when `bufferIdleMs` > 0: see core/proxy/body-length.ts), with
 * `bufferIdleMs` as its limit, or left to stream and watched by the try stage
 * (relayed-body.ts). A thrown fetch is classified by
 * core/retry/fetch-errors.ts, which lists what workerd reports for each cause.
 */
export async function tryOrigin(
  target: string,
  init: TryInit,
  timeoutMs: number,
  /** An mtls_certificates binding's fetch for services with `mtls`; the global fetch otherwise. */
  send: (input: string, init: RequestInit) => Promise<Response> = fetch,
  /** `retry.bodyIdleTimeoutMs` to read a small sized body whole within; 0 leaves every body to stream. */
  bufferIdleMs = 0,
): Promise<TryResult> {
  const started = Date.now();
  const controller = new AbortController();
  // One timer serves the try: the wait for headers, then a buffered body's
  // read. Moving `deadline` re-aims it without a clearTimeout/setTimeout pair;
  // when it fires early it re-arms for what is left. Until the headers come,
  // time spent waiting for a slow client's upload moves the deadline on
  // (as Envoy starts its timeout once the downstream request is in): a
  // stalled client is ended by its own idle limit instead (client-body.ts).
  let deadline = started + timeoutMs;
  const waitedBefore = clientWaited(init, started);
  let headersIn = false;
  const onTimer = (): void => {
    const now = Date.now();
    const left = deadline - now + (headersIn ? 0 : clientWaited(init, now) - waitedBefore);
    if (left > 0) timer = setTimeout(onTimer, left);
    else controller.abort();
  };
  let timer = setTimeout(onTimer, timeoutMs);
  // Only a streamed body has one (proxy/client-body.ts): a client that fails mid-upload ends the try at once.
  // Only until the headers arrive: the same signal governs the response body, which a
  // client hanging up later must not turn into a failure charged to the origin.
  const clientAbort = init.clientAbort?.signal;
  const onClientAbort = clientAbort === undefined ? null : (): void => controller.abort();
  if (clientAbort !== undefined && onClientAbort !== null) clientAbort.addEventListener("abort", onClientAbort, { once: true });
  let response: Response;
  try {
    response = await send(target, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (err) {
    clearTimeout(timer);
    const latencyMs = originTime(init, started, waitedBefore);
    const failure: TryFailure = controller.signal.aborted ? { kind: "timeout" } : classifyThrow(err, target);
    return { ok: false, failure, response: null, latencyMs };
  } finally {
    if (clientAbort !== undefined && onClientAbort !== null) clientAbort.removeEventListener("abort", onClientAbort);
  }
  headersIn = true;
  const latencyMs = originTime(init, started, waitedBefore);
  const status = response.status;
  // The origin took the upgrade: the socket is the answer (respond relays it), there is no body to read.
  if (status === 101 && init.webSocket === true && response.webSocket !== null) {
    clearTimeout(timer);
    return { ok: true, response, latencyMs, body: null };
  }
  if (status < 200 || status > 599) {
    clearTimeout(timer);
    // A 1xx as the final answer (e.g. an unasked-for 100 Continue, or 103 Early
    // Hints, which workerd's fetch hands back as the answer) or a status past 599
    // (fetch passes up to 999 through) cannot be relayed: a Response allows only
    // 200..599, so relaying one threw a mesh_error. A failed try, answered 502.
    await response.body?.cancel();
    return { ok: false, failure: { kind: "reset" }, response: null, latencyMs };
  }
  // A 5xx is a failed try whose body is only read if it is the answer relayed in the end.
  const failure = classifyStatus(status);
  const length =
    bufferIdleMs > 0 && failure === null
      ? bufferedBodyLength(init.method, status, response.headers.get("content-encoding"), response.headers.get("content-length"))
      : null;
  if (length === null) {
    clearTimeout(timer);
    return failure === null ? { ok: true, response, latencyMs, body: null } : { ok: false, failure, response, latencyMs };
  }
  // For a body this small the idle limit bounds the whole read.
  const now = Date.now();
  if (now + bufferIdleMs < deadline) {
    clearTimeout(timer);
    timer = setTimeout(onTimer, bufferIdleMs);
  }
  deadline = now + bufferIdleMs;
  let body: ArrayBuffer | BodyFailed;
  try {
    body = await response.arrayBuffer();
  } catch (err) {
    body = controller.signal.aborted ? new BodyFailed("timeout", `origin sent no body data for ${bufferIdleMs} ms`) : new BodyFailed("reset", err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
  return { ok: true, response, latencyMs, body };
}
