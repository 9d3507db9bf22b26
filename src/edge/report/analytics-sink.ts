import { analyticsPoint } from "../../core/events/analytics-point.js";
import type { RequestState } from "../request-state.js";
import { cfString } from "./request-log.js";

/**
 * The optional `ANALYTICS` binding (wrangler.toml, `[[analytics_engine_datasets]]`).
 * The block ships commented out, so the generated Env (worker-configuration.d.ts,
 * `wrangler types`) has no such field and must not be hand-edited to add one;
 * reading it through this narrow type keeps `npm run types:check` exact either
 * way, and still typechecks once a deployment uncomments the block and Env gains it.
 */
interface AnalyticsBinding {
  readonly ANALYTICS?: AnalyticsEngineDataset;
}

/** Once per isolate: a binding that is not a dataset fails every write, and a line per request would flood the log. */
let writeFailureLogged = false;

/**
 * The Analytics Engine sink of the record stage: one data point per finished
 * request (core/events/analytics-point.ts), for the same requests the metrics
 * sink counts: those routed to a service (so not no_route), refusals and mesh
 * errors included. Unbound, its cost is one property read. writeDataPoint
 * returns at once and needs no waitUntil ("writes are non-blocking":
 * developers.cloudflare.com/workers/examples/analytics-engine); one point per
 * request is far under AE's 250 writes per invocation.
 */
export function recordAnalytics(state: RequestState, env: Env): void {
  const dataset = (env as Env & AnalyticsBinding).ANALYTICS;
  if (dataset === undefined) return;
  const service = state.service;
  if (service === null) return;
  // A write that throws (a binding that is not a dataset; the point is kept within AE's limits) must not
  // turn an answered request into a mesh error: said in the log instead, once per isolate.
  try {
    dataset.writeDataPoint(
      analyticsPoint({
        service: service.name,
        instance: state.lastInstance,
        outcome: state.outcome,
        colo: cfString(state.request.cf, "colo"),
        // Taken here, as the metrics sink takes it: arrival to the response headers handed back.
        latencyMs: Date.now() - state.started,
        status: state.status,
        tries: state.outcomes,
      }),
    );
  } catch (err) {
    if (writeFailureLogged) return;
    writeFailureLogged = true;
    console.error(JSON.stringify({ event: "analytics_write_failed", message: String(err) }));
  }
}
