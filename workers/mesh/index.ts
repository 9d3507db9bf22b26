import { Router } from "itty-router";
import { api } from "../../src/api/app.js";
import { routeRequest } from "../../src/edge/route-request.js";
import { sweepAll } from "../../src/sweep/sweep.js";

export { ServiceCoordinator } from "../../src/coordinator/service-coordinator.js";

/**
 * The mesh Worker. It only wires: the control plane lives under /_mesh/
 * (Hono), everything else is proxied by the edge router. itty-router is the
 * top-level dispatcher; service matching uses the route table's indexed
 * lookup (src/core/routes/route-table.ts).
 */
type Args = [Env, ExecutionContext];

const router = Router<Request, Args>()
  .all("/_mesh/*", (request, env, ctx) => api.fetch(request, env, ctx))
  .all("*", (request, env, ctx) => routeRequest(request, env, ctx));

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx) as Promise<Response>,
  async scheduled(_controller, env, _ctx) {
    const record = await sweepAll(env, Date.now());
    console.log(JSON.stringify({ event: "sweep", ...record }));
  },
} satisfies ExportedHandler<Env>;
