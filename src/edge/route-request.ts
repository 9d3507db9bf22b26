import { MeshError } from "../core/errors.js";
import { downstreamHeaders, upstreamHeaders } from "../core/proxy/forward-headers.js";
import { decideRetry } from "../core/retry/retry-policy.js";
import { upstreamPath } from "../core/routes/route-table.js";
import type { TryOutcome } from "../core/snapshot.js";
import { recordOutcomes } from "./outcome-reporter.js";
import { SnapshotPicker, StrictPicker, type Picker } from "./pickers.js";
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

type Outcome = RequestEvent["outcome"];

async function readBody(request: Request): Promise<{ body: ArrayBuffer | ReadableStream | null; replayable: boolean }> {
  if (request.body === null || request.method === "GET" || request.method === "HEAD") return { body: null, replayable: true };
  const length = request.headers.get("content-length");
  if (length === null || Number(length) > RETRY_BODY_CAP_BYTES) return { body: request.body, replayable: false };
  try {
    return { body: await request.arrayBuffer(), replayable: true };
  } catch {
    throw new MeshError(400, "invalid_request", "could not read the request body");
  }
}

function respond(response: Response, instanceId: string, attempts: number): Response {
  const headers = downstreamHeaders(response.headers);
  headers.set("x-mesh-instance", instanceId);
  headers.set("x-mesh-attempts", String(attempts));
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** The data plane: route, pick, try, fail over, respond. Never throws. */
export async function routeRequest(request: Request, url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  const started = Date.now();
  const logging = env.REQUEST_LOG !== "off";
  // Built only when logging, so REQUEST_LOG=off costs no per-request allocation for it.
  const event: RequestEvent | null = logging
    ? {
        event: "request",
        ts: new Date(started).toISOString(),
        service: null,
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
      }
    : null;
  const finish = (response: Response, outcome: Outcome): Response => {
    if (event !== null) {
      event.status = response.status;
      event.outcome = outcome;
      event.latencyMs = Date.now() - started;
      logRequest(event);
    }
    return response;
  };
  try {
    return await proxy(request, url, env, ctx, started, event, finish);
  } catch (err) {
    if (err instanceof MeshError) return finish(err.toResponse(), "upstream_error");
    console.error(JSON.stringify({ event: "router_error", message: String(err), stack: err instanceof Error ? err.stack : undefined }));
    return finish(new MeshError(503, "upstream_unavailable", "the mesh could not route this request").toResponse(), "upstream_error");
  }
}

async function proxy(
  request: Request,
  url: URL,
  env: Env,
  ctx: ExecutionContext,
  started: number,
  event: RequestEvent | null,
  finish: (response: Response, outcome: Outcome) => Response,
): Promise<Response> {
  const routes = await getRoutes(env, ctx, started);
  const match = routes.table.match(url.hostname, url.pathname);
  const svc = match === undefined ? undefined : routes.services.get(match.service);
  if (match === undefined || svc === undefined) {
    return finish(new MeshError(404, "no_route", `no service routes ${url.host}${url.pathname}`).toResponse(), "no_route");
  }
  if (event !== null) event.service = svc.name;

  const picker: Picker = svc.mode === "strict" ? new StrictPicker(env, ctx, svc) : await SnapshotPicker.create(env, ctx, svc, started);
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
  let lastInstance = "";

  for (let attempt = 1; attempt <= svc.retry.attempts; attempt++) {
    const instance = await picker.pick(tried);
    if (instance === undefined) break;
    // Only now that another try will happen is the previous failed answer thrown away.
    if (last !== null && last.response !== null) ctx.waitUntil(last.response.body?.cancel() ?? Promise.resolve());
    tried.add(instance.id);
    lastInstance = instance.id;
    const token = picker.tryBegan(instance.id);
    let result: TryResult;
    try {
      result = await tryOrigin(instance.url + path, { method: request.method, headers, body }, svc.retry.perTryTimeoutMs);
    } finally {
      picker.tryEnded(instance.id, token);
    }
    last = result;
    outcomes.push(
      result.ok
        ? { instanceId: instance.id, ok: true, latencyMs: result.latencyMs }
        : { instanceId: instance.id, ok: false, failure: result.failure.kind, latencyMs: result.latencyMs },
    );
    if (event !== null) {
      event.tried.push(instance.id);
      if (!result.ok) event.failures.push(result.failure.kind === "status" ? String(result.failure.status) : result.failure.kind);
    }
    if (result.ok) {
      picker.succeeded(instance.id);
      break;
    }
    if (result.failure.kind !== "status") picker.failed(instance.id);
    const decision = decideRetry({
      method: request.method,
      failure: result.failure,
      triesMade: attempt,
      policy: svc.retry,
      bodyReplayable: replayable,
      instancesLeft: picker.remaining(tried),
    });
    if (!decision.retry) break;
  }
  recordOutcomes(env, ctx, svc.name, outcomes);
  if (event !== null) {
    event.mode = picker.mode();
    event.snapshotVersion = picker.version();
    event.attempts = tried.size;
    event.instance = lastInstance === "" ? null : lastInstance;
  }

  if (last === null) {
    const why = picker.allUnhealthy() ? "every instance is unhealthy" : "no instance is registered";
    const error = new MeshError(503, "no_healthy_instance", `service '${svc.name}': ${why}`, {
      headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
    });
    return finish(error.toResponse(), "no_healthy_instance");
  }
  if (last.response !== null) {
    const outcome: Outcome = last.ok ? (tried.size > 1 ? "failed_over" : "ok") : "upstream_error";
    return finish(respond(last.response, lastInstance, tried.size), outcome);
  }
  const timedOut = !last.ok && last.failure.kind === "timeout";
  const error = new MeshError(timedOut ? 504 : 502, "upstream_unavailable", `service '${svc.name}': ${tried.size} attempt(s) failed`);
  return finish(error.toResponse(), "upstream_error");
}
