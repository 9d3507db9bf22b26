import { admit } from "./admit/admit.js";
import { preparePick } from "./pick/pick.js";
import { tryInstances } from "./proxy/failover.js";
import { record } from "./report/record.js";
import { meshFailed, noRoute, refused } from "./respond/refuse.js";
import { respond } from "./respond/respond.js";
import { newRequestState, type RequestState } from "./request-state.js";
import { route } from "./route/route.js";

/**
 * The data plane, as its stages: route → admit → pick → try / fail over →
 * respond → record (docs/architecture.md, "The request path"). Never throws:
 * an exception no stage expected is a mesh bug, answered as 500 mesh_error.
 */
export async function routeRequest(request: Request, url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  const state = newRequestState(request, Date.now());
  let response: Response;
  try {
    response = await proxy(state, request, url, env, ctx);
  } catch (err) {
    response = meshFailed(state, err);
  }
  record(state, url, env, ctx);
  return response;
}

async function proxy(state: RequestState, request: Request, url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  if (!(await route(state, url, env, ctx))) return noRoute(state, url);
  const refusal = await admit(state, request);
  if (refusal !== null) return refused(state, refusal);
  await preparePick(state, env, ctx);
  await tryInstances(state, url, env, ctx);
  return respond(state);
}
