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
  if (env.REQUEST_LOG !== "off") {
    // The event is taken now (its latency ends here); the line is written once the answer has gone out.
    const event = requestEvent(state, url, Date.now());
    ctx.waitUntil(afterAnswer(event));
  }
}

/**
 * Writes the line on a later turn of the event loop, after the runtime has
 * started sending the answer: the client does not wait for the log. Output
 * written while waitUntil work is pending still belongs to this invocation's
 * trace, so Workers Logs and Logpush get the same line.
 */
function afterAnswer(event: RequestEvent): Promise<void> {
  return new Promise<void>((resolve) => {
    setTimeout(() => {
      // A throw here would escape from the timer as an uncaught exception of the invocation: logged instead.
      try {
        logRequest(event);
      } catch (err) {
        console.error(JSON.stringify({ event: "request_log_failed", message: String(err) }));
      } finally {
        resolve();
      }
    }, 0);
  });
}
