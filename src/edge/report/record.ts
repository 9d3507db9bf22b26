import type { RequestState } from "../request-state.js";
import { recordMetrics } from "./metrics-sink.js";
import { recordOutcomes } from "./outcome-reporter.js";
import { logRequest, requestEvent, type RequestEvent } from "./request-log.js";

/**
 * Stage 6, record: hands the finished request to each sink. Every sink reads
 * the request state, none reads another's output, so turning the log off
 * (REQUEST_LOG=off) cannot starve the outcome reports, and a metrics sink
 * is one more line here.
 */
export function record(state: RequestState, url: URL, env: Env, ctx: ExecutionContext): void {
  if (env.METRICS !== "off") recordMetrics(state, Date.now());
  // Try outcomes feed the coordinator's passive health (batched, sent from waitUntil).
  if (state.service !== null) recordOutcomes(env, ctx, state.service.name, state.outcomes);
  if (env.REQUEST_LOG !== "off") writeLine(requestEvent(state, url, Date.now()));
}

/**
 * Written now, in the handler: the line is part of this invocation's trace
 * (Workers Logs, Logpush) like any console output. It used to wait for a
 * later turn under waitUntil so that the client would not wait for it, but
 * paired rounds found that the deferral cost CPU and bought no latency:
 * written here, the line cost about 170 µs less workerd CPU per request,
 * with the same p50 at one connection (docs/performance.md, "The request
 * line, written in the handler").
 */
function writeLine(event: RequestEvent): void {
  // A sink that throws must not turn an answered request into a mesh error: said once, instead.
  try {
    logRequest(event);
  } catch (err) {
    console.error(JSON.stringify({ event: "request_log_failed", message: String(err) }));
  }
}
