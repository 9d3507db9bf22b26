import { api } from "../../src/api/app.js";
import { serveUi, UI_PATH } from "../../src/api/ui.js";
import { isControlPlanePath } from "../../src/core/routes/control-plane-path.js";
import { routeRequest } from "../../src/edge/route-request.js";
import { sweepAll } from "../../src/sweep/sweep.js";

export { ServiceCoordinator } from "../../src/coordinator/service-coordinator.js";
export { RouteRegistry } from "../../src/registry/route-registry.js";
export { RateLimiter } from "../../src/limiter/rate-limiter.js";

/**
 * The mesh Worker. It only wires: the control plane is /_mesh and below
 * (Hono), everything else is proxied by the edge router, and the cron trigger
 * runs the sweep. The URL is parsed once here and handed to the router; a
 * general-purpose router in front would parse it again on every proxied
 * request (docs/architecture.md, "Why no pattern router on the data plane").
 */
export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (isControlPlanePath(url.pathname)) return url.pathname.startsWith(UI_PATH) ? serveUi(request, url) : api.fetch(request, env, ctx);
    return routeRequest(request, url, env, ctx);
  },
  async scheduled(_controller, env, _ctx) {
    const record = await sweepAll(env, Date.now());
    console.log(JSON.stringify({ event: "sweep", ...record }));
  },
} satisfies ExportedHandler<Env>;
