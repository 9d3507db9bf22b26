import type { LoadedRoutes } from "../cache/route-cache.js";
import type { RequestState } from "../request-state.js";

/**
 * Stage 1, route: finds the service for the request's host and path in the
 * isolate's route table (route-cache.ts loads it; the caller awaits that, so
 * this stage is a plain synchronous lookup). False when nothing routes it.
 */
export function route(state: RequestState, routes: LoadedRoutes, url: URL): boolean {
  const match = routes.table.match(url.hostname, url.pathname);
  const service = match === undefined ? undefined : routes.services.get(match.service);
  if (match === undefined || service === undefined) return false;
  state.match = match;
  state.service = service;
  return true;
}
