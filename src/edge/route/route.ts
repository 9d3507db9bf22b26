import { getRoutes } from "../route-cache.js";
import type { RequestState } from "../request-state.js";

/**
 * Stage 1, route: finds the service for the request's host and path in the
 * isolate's route table (route-cache.ts). False when nothing routes it.
 */
export async function route(state: RequestState, url: URL, env: Env, ctx: ExecutionContext): Promise<boolean> {
  const routes = await getRoutes(env, ctx, state.started);
  const match = routes.table.match(url.hostname, url.pathname);
  const service = match === undefined ? undefined : routes.services.get(match.service);
  if (match === undefined || service === undefined) return false;
  state.match = match;
  state.service = service;
  return true;
}
