import type { TrafficPolicy } from "../core/policy/traffic-view.js";
import type { ServiceConfig } from "../core/schema/service.js";

/**
 * The part of each service's config the data plane needs, gathered under one
 * KV key so a cold isolate loads the whole route table with a single read.
 * The security fields only name Worker secrets and bindings (`*Ref`,
 * `certificateBinding`); the router reads their values from `env` per request,
 * so no secret is ever written to KV.
 */
export interface RoutedService {
  name: string;
  routes: ServiceConfig["routes"];
  balancer: ServiceConfig["balancer"];
  mode: ServiceConfig["routing"]["mode"];
  retry: ServiceConfig["retry"];
  panic: boolean;
  /** Present only when the service has the feature; an index written before they existed has none. */
  jwt?: NonNullable<ServiceConfig["auth"]>["jwt"];
  upstreamAuth?: NonNullable<ServiceConfig["upstreamAuth"]>;
  signing?: NonNullable<ServiceConfig["signing"]>;
  mtls?: NonNullable<ServiceConfig["mtls"]>;
  rateLimits?: NonNullable<ServiceConfig["rateLimits"]>;
  /** Flow control (core/schema/flow.ts): present only when set. */
  maxConcurrentRequestsPerInstance?: number;
  maxPendingRequests?: number;
  shedPercent?: number;
  /** affinity, split and slowStartSeconds (src/core/policy/); present only when one of them is on. */
  traffic?: TrafficPolicy;
  locality?: NonNullable<ServiceConfig["locality"]>;
  fallbackService?: string;
  /** Present only as "none": an absent field (the default, or an index written before it existed) adds the x-mesh-* headers. */
  responseHeaders?: "none";
}

export interface RouteIndex {
  version: number;
  generatedAt: number;
  services: RoutedService[];
}

export function routedService(name: string, config: ServiceConfig): RoutedService {
  const routed: RoutedService = {
    name,
    routes: config.routes,
    balancer: config.balancer,
    mode: config.routing.mode,
    retry: config.retry,
    panic: config.panic.routeToAllWhenNoneHealthy,
  };
  // Absent fields stay absent, so services without them add nothing to the index.
  if (config.auth !== undefined) routed.jwt = config.auth.jwt;
  if (config.upstreamAuth !== undefined) routed.upstreamAuth = config.upstreamAuth;
  if (config.signing !== undefined) routed.signing = config.signing;
  if (config.mtls !== undefined) routed.mtls = config.mtls;
  if (config.rateLimits !== undefined && config.rateLimits.length > 0) routed.rateLimits = config.rateLimits;
  if (config.maxConcurrentRequestsPerInstance !== undefined) routed.maxConcurrentRequestsPerInstance = config.maxConcurrentRequestsPerInstance;
  if (config.maxPendingRequests !== undefined) routed.maxPendingRequests = config.maxPendingRequests;
  // 0 sheds nobody: left out, so the admission policy's one field check passes it.
  if (config.shedPercent !== undefined && config.shedPercent > 0) routed.shedPercent = config.shedPercent;
  if (config.affinity !== undefined || config.split !== undefined || config.slowStartSeconds > 0) {
    routed.traffic = { slowStartSeconds: config.slowStartSeconds };
    if (config.affinity !== undefined) routed.traffic.affinity = config.affinity;
    if (config.split !== undefined) routed.traffic.split = config.split;
  }
  if (config.locality !== undefined) routed.locality = config.locality;
  if (config.fallbackService !== undefined) routed.fallbackService = config.fallbackService;
  if (config.responseHeaders === "none") routed.responseHeaders = "none";
  return routed;
}
