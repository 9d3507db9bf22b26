import type { TryFailure } from "../../core/retry/retry-policy.js";
import { classifyStatus } from "../../core/retry/retry-policy.js";

export type TryResult =
  | { ok: true; response: Response; latencyMs: number }
  | { ok: false; failure: TryFailure; response: Response | null; latencyMs: number };

/**
 * workerd reports a refused connection and a connection reset mid-request with
 * the same error ("Network connection lost."), so a thrown fetch is a `reset`
 * unless the message proves the request never left (DNS failure). That keeps
 * POST/PATCH from being resent after they may have reached the origin.
 */
function classifyThrow(err: unknown): TryFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (/DNS lookup failed|connection refused|ECONNREFUSED|No such host/i.test(message)) return { kind: "connect-failure" };
  return { kind: "reset" };
}

/**
 * One try against one origin. The per-try timeout covers the wait for response
 * headers; once they arrive the body streams to the client untimed.
 */
export async function tryOrigin(
  target: string,
  init: { method: string; headers: Headers; body: ArrayBuffer | ReadableStream | null },
  timeoutMs: number,
  /** An mtls_certificates binding's fetch for services with `mtls`; the global fetch otherwise. */
  send: (input: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<TryResult> {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await send(target, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: "manual",
      signal: controller.signal,
    });
    const latencyMs = Date.now() - started;
    const failure = classifyStatus(response.status);
    if (failure !== null) return { ok: false, failure, response, latencyMs };
    return { ok: true, response, latencyMs };
  } catch (err) {
    const latencyMs = Date.now() - started;
    const failure: TryFailure = controller.signal.aborted ? { kind: "timeout" } : classifyThrow(err);
    return { ok: false, failure, response: null, latencyMs };
  } finally {
    clearTimeout(timer);
  }
}
