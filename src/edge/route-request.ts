import { admit } from "./admit/admit.js";
import { preparePick } from "./pick/pick.js";
import { preparePinAnswer } from "./pick/session-pin.js";
import { tryFallback, tryInstances } from "./proxy/failover.js";
import { record } from "./report/record.js";
import { isSecurityError } from "../security/errors.js";
import { meshFailed, noRoute, refused, securityFailed } from "./respond/refuse.js";
import { respond } from "./respond/respond.js";
import { newRequestState, type RequestState } from "./request-state.js";
import { abandonRelay } from "./proxy/relay-slot.js";
import { getRoutes } from "./cache/route-cache.js";
import { admitFallback, fallbackFor, hopTo } from "./route/fallback.js";
import { route } from "./route/route.js";

/**
 * The data plane, as its stages: route → admit → pick → try / fail over →
 * respond → record (docs/architecture.md, "The request path"). Never throws:
 * a SecurityError keeps its status and code; an exception no stage expected
 * is a mesh bug, answered as 500 mesh_error.
 */
export function routeRequest(request: Request, url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  const answered = handle(request, url, env, ctx);
  // A client that hangs up cancels its request, and with it every continuation
  // of the request's own promises: without this, the `finally` that ends a try
  // (its concurrency slot, its stall and least_request bookkeeping), a wait for
  // a slot, and the record stage never ran, leaving a slot taken for the
  // isolate's life. Held by waitUntil, the request runs to its end, within its
  // timeouts (up to 30 s after the client left). `handle` never rejects.
  ctx.waitUntil(answered);
  return answered;
}

async function handle(request: Request, url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  const state = newRequestState(request, Date.now());
  let response: Response;
  try {
    response = await proxy(state, request, url, env, ctx);
  } catch (err) {
    // The security wiring's errors (token endpoint, missing secret) are answers; anything else is a bug.
    response = isSecurityError(err) ? securityFailed(state, err) : meshFailed(state, err);
    // An origin's answer taken before the failure is not sent: its concurrency slot is given back.
    abandonRelay(state, ctx);
  }
  record(state, url, env, ctx);
  return response;
}

async function proxy(state: RequestState, request: Request, url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  const routes = await getRoutes(env, ctx, state.started);
  if (!route(state, routes, url)) return noRoute(state, url);
  // Admit and pick answer synchronously unless they must wait; awaiting only
  // a real promise keeps the warm path free of promises made for nothing.
  const admitted = admit(state, request, env);
  const refusal = admitted instanceof Promise ? await admitted : admitted;
  if (refusal !== null) return refused(state, refusal);
  const loading = preparePick(state, env, ctx, url);
  if (loading !== undefined) await loading;
  await tryInstances(state, url, env, ctx);
  // A service that could not answer hands the request to its fallbackService, once (route/fallback.ts).
  const fallback = state.service?.fallbackService === undefined ? null : fallbackFor(state, routes);
  if (fallback !== null) {
    // The fallback's admission: "stay" keeps the first service's answer; a refusal is the fallback's, after the hop.
    const verdict = await admitFallback(state, request, env, fallback);
    if (verdict !== "stay") {
      // Read before the hop, which starts the tries over for the fallback.
      const untried = state.outcomes.length === 0;
      hopTo(state, fallback, env, ctx);
      if (verdict !== "hop") return refused(state, verdict);
      const reloading = preparePick(state, env, ctx, url);
      if (reloading !== undefined) await reloading;
      await tryFallback(state, url, env, ctx, untried);
    }
  }
  if (state.traffic !== null) {
    // Session affinity: the value naming the answering instance, for respond to send back.
    const pinning = preparePinAnswer(state, env, url.protocol === "https:");
    if (pinning !== undefined) await pinning;
  }
  return respond(state);
}
