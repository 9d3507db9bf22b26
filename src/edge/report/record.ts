import { lineWeight, parseLogSample } from "../../core/events/log-sample.js";
import type { RequestState } from "../request-state.js";
import { recordAnalytics } from "./analytics-sink.js";
import { recordMetrics } from "./metrics-sink.js";
import { recordOutcomes } from "./outcome-reporter.js";
import { logRequest, requestEvent, type RequestEvent } from "./request-log.js";

/**
 * Stage 6, record: hands the finished request to each sink. Every sink reads
 * the request state, none reads another's output, so turning the log off
 * (REQUEST_LOG=off) cannot starve the outcome reports, and a sink (metrics,
 * Analytics Engine) is one more line here.
 */
export function record(state: RequestState, url: URL, env: Env, ctx: ExecutionContext): void {
  if (env.METRICS !== "off") recordMetrics(state, Date.now());
  // Try outcomes feed the coordinator's passive health (batched, sent from waitUntil).
  if (state.service !== null) recordOutcomes(env, ctx, state.service.name, state.outcomes);
  // Analytics Engine, when an ANALYTICS dataset is bound (docs/analytics.md); unbound, one property read.
  recordAnalytics(state, env);
  if (env.REQUEST_LOG === "off") return;
  // Every line (REQUEST_LOG_SAMPLE unset, "1", or refused): one comparison per request, no draw.
  if (env.REQUEST_LOG_SAMPLE === everyLine) writeLine(requestEvent(state, url, Date.now(), 1));
  else sampleLine(state, url, env.REQUEST_LOG_SAMPLE);
}

/**
 * REQUEST_LOG_SAMPLE is parsed once per isolate: the cache is keyed by the raw
 * string because tests pass a different env per call. `everyLine` is the raw
 * value last found to mean every line (unset, to start with), so that case
 * costs record() one string comparison; any other value takes sampleLine.
 */
let everyLine: unknown = undefined;
let sampled: { raw: unknown; rate: number } | null = null;

function sampleRate(raw: unknown): number {
  if (sampled === null || sampled.raw !== raw) {
    const { rate, warning } = parseLogSample(raw);
    // Said once per isolate and value (a refused value then takes record's every-line path), not per request.
    if (warning !== null) console.warn(JSON.stringify({ event: "config_warning", name: "REQUEST_LOG_SAMPLE", message: warning }));
    if (rate === 1) everyLine = raw;
    sampled = { raw, rate };
  }
  return sampled.rate;
}

function sampleLine(state: RequestState, url: URL, raw: unknown): void {
  // Math.random, not a 1-in-N counter: a counter's period can line up with the traffic's (core/events/log-sample.ts).
  const weight = lineWeight(sampleRate(raw), state, Math.random);
  if (weight !== 0) writeLine(requestEvent(state, url, Date.now(), weight));
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
