import type { TryFailure } from "../../core/retry/retry-policy.js";
import { classifyStatus } from "../../core/retry/retry-policy.js";
import { classifyFetchError } from "../../core/retry/fetch-errors.js";

export type TryResult =
  | { ok: true; response: Response; latencyMs: number }
  | { ok: false; failure: TryFailure; response: Response | null; latencyMs: number };

function classifyThrow(err: unknown, target: string): TryFailure {
  const message = err instanceof Error ? err.message : String(err);
  const retryable = typeof err === "object" && err !== null && "retryable" in err ? err.retryable === true : undefined;
  return classifyFetchError({ message, retryable, hostname: new URL(target).hostname });
}

/**
 * One try against one origin. The per-try timeout covers the wait for response
 * headers; the body is then watched by the try stage (body-watch.ts) with
 * `retry.bodyIdleTimeoutMs` between chunks. A thrown fetch is classified by
 * core/retry/fetch-errors.ts, which lists what workerd reports for each cause.
 */
export async function tryOrigin(
  target: string,
  init: { method: string; headers: Headers; body: ArrayBuffer | ReadableStream | null; clientAbort?: AbortController | null },
  timeoutMs: number,
  /** An mtls_certificates binding's fetch for services with `mtls`; the global fetch otherwise. */
  send: (input: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<TryResult> {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  // Only a streamed body has one (proxy/client-body.ts): a client that fails mid-upload ends the try at once.
  // Only until the headers arrive: the same signal governs the response body, which a
  // client hanging up later must not turn into a failure charged to the origin.
  const clientAbort = init.clientAbort?.signal;
  const onClientAbort = clientAbort === undefined ? null : (): void => controller.abort();
  if (clientAbort !== undefined && onClientAbort !== null) clientAbort.addEventListener("abort", onClientAbort, { once: true });
  try {
    const response = await send(target, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: "manual",
      signal: controller.signal,
    });
    const latencyMs = Date.now() - started;
    if (response.status < 200) {
      // A 1xx as the final answer (e.g. an unasked-for 100 Continue) cannot be
      // relayed (Response allows 200..599) and breaks HTTP: a failed try, answered 502.
      await response.body?.cancel();
      return { ok: false, failure: { kind: "reset" }, response: null, latencyMs };
    }
    const failure = classifyStatus(response.status);
    if (failure !== null) return { ok: false, failure, response, latencyMs };
    return { ok: true, response, latencyMs };
  } catch (err) {
    const latencyMs = Date.now() - started;
    const failure: TryFailure = controller.signal.aborted ? { kind: "timeout" } : classifyThrow(err, target);
    return { ok: false, failure, response: null, latencyMs };
  } finally {
    clearTimeout(timer);
    if (clientAbort !== undefined && onClientAbort !== null) clientAbort.removeEventListener("abort", onClientAbort);
  }
}
