import { MeshError } from "../core/errors.js";
import { downstreamHeaders, upstreamHeaders } from "../core/proxy/forward-headers.js";
import { decideRetry } from "../core/retry/retry-policy.js";
import { upstreamPath } from "../core/routes/route-table.js";
import type { TryOutcome } from "../core/snapshot.js";
import { recordOutcomes } from "./outcome-reporter.js";
import { snapshotPicker, strictPicker } from "./pickers.js";
import { logRequest, type RequestEvent } from "./request-log.js";
import { getRoutes } from "./route-cache.js";
import { tryOrigin, type TryResult } from "./try-origin.js";

/**
 * Bodies up to this size are read into memory so a failed try can be resent
 * to another instance; larger or unsized (chunked) bodies are streamed to the
 * first instance and never retried. Workers have 128 MB per isolate; 1 MiB
 * per in-flight request keeps hundreds of concurrent uploads safe.
 */
export const RETRY_BODY_CAP_BYTES = 1024 * 1024;
/** Seconds a client should wait before retrying a 503 no_healthy_instance. */
const RETRY_AFTER_SECONDS = 5;

async function readBody(request: Request): Promise<{ body: ArrayBuffer | ReadableStream | null; replayable: boolean }> {
  if (request.body === null || request.method === "GET" || request.method === "HEAD") return { body: null, replayable: true };
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) <= RETRY_BODY_CAP_BYTES) return { body: await request.arrayBuffer(), replayable: true };
  return { body: request.body, replayable: false };
}

function respond(result: TryResult & { response: Response }, instanceId: string, attempts: number): Response {
  const headers = downstreamHeaders(result.response.headers);
  headers.set("x-mesh-instance", instanceId);
  headers.set("x-mesh-attempts", String(attempts));
  return new Response(result.response.body, { status: result.response.status, statusText: result.response.statusText, headers });
}

export async function routeRequest(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const started = Date.now();
  const url = new URL(request.url);
  const routes = await getRoutes(env, ctx, started);
  const match = routes.table.match(url.hostname, url.pathname);
  const svc = match === undefined ? undefined : routes.services.get(match.service);
  const event: RequestEvent = {
    event: "request",
    ts: new Date(started).toISOString(),
    service: svc?.name ?? null,
    method: request.method,
    host: url.host,
    path: url.pathname,
    status: 0,
    outcome: "ok",
    instance: null,
    attempts: 0,
    tried: [],
    failures: [],
    latencyMs: 0,
    mode: null,
    snapshotVersion: null,
  };
  const logging = env.REQUEST_LOG !== "off";
  const finish = (status: number, outcome: RequestEvent["outcome"]): void => {
    event.status = status;
    event.outcome = outcome;
    event.latencyMs = Date.now() - started;
    logRequest(logging, event);
  };

  if (match === undefined || svc === undefined) {
    finish(404, "no_route");
    return new MeshError(404, "no_route", `no service routes ${url.host}${url.pathname}`).toResponse();
  }

  const picker = svc.mode === "strict" ? await strictPicker(env, ctx, svc, started) : await snapshotPicker(env, ctx, svc, started);
  const { body, replayable } = await readBody(request);
  const headers = upstreamHeaders(request.headers, {
    clientIp: request.headers.get("cf-connecting-ip"),
    proto: url.protocol.slice(0, -1),
    host: url.host,
  });
  const path = upstreamPath(url.pathname, match) + url.search;
  const tried = new Set<string>();
  const outcomes: TryOutcome[] = [];
  let last: TryResult | null = null;

  for (let attempt = 1; attempt <= svc.retry.attempts; attempt++) {
    const instance = await picker.pick(tried);
    if (instance === undefined) break;
    tried.add(instance.id);
    event.tried.push(instance.id);
    const result = await tryOrigin(instance.url + path, { method: request.method, headers, body }, svc.retry.perTryTimeoutMs);
    outcomes.push({
      instanceId: instance.id,
      ok: result.ok,
      latencyMs: result.latencyMs,
      ...(result.ok ? {} : { failure: result.failure.kind }),
      ...(result.response !== null ? { status: result.response.status } : {}),
    });
    event.attempts = attempt;
    event.instance = instance.id;
    if (result.ok) {
      picker.succeeded(instance.id);
      last = result;
      break;
    }
    event.failures.push(result.failure.kind === "status" ? String(result.failure.status) : result.failure.kind);
    if (result.failure.kind !== "status") picker.failed(instance.id);
    last = result;
    const decision = decideRetry({
      method: request.method,
      failure: result.failure,
      triesMade: attempt,
      policy: svc.retry,
      bodyReplayable: replayable,
      instancesLeft: picker.remaining(tried),
    });
    if (!decision.retry) break;
    // Discard the failed answer's body so its connection is freed before the next try.
    if (result.response !== null) ctx.waitUntil(result.response.body?.cancel() ?? Promise.resolve());
  }
  event.mode = picker.mode();
  event.snapshotVersion = picker.version();
  recordOutcomes(env, ctx, svc.name, outcomes);

  if (last === null) {
    finish(503, "no_healthy_instance");
    const why = picker.allUnhealthy() ? "every instance is unhealthy" : "no instance is registered";
    return new MeshError(503, "no_healthy_instance", `service '${svc.name}': ${why}`, {
      headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
    }).toResponse();
  }
  if (last.response !== null) {
    finish(last.response.status, last.ok ? (event.attempts > 1 ? "failed_over" : "ok") : "upstream_error");
    return respond({ ...last, response: last.response }, event.instance ?? "", event.attempts);
  }
  const timedOut = last.ok === false && last.failure.kind === "timeout";
  finish(timedOut ? 504 : 502, "upstream_error");
  return new MeshError(
    timedOut ? 504 : 502,
    "upstream_unavailable",
    `service '${svc.name}': ${event.attempts} attempt(s) failed (${event.failures.join(", ")})`,
  ).toResponse();
}
