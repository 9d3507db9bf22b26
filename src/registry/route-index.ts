import type { ServiceConfig } from "../core/schema/service.js";

/**
 * The part of each service's config the data plane needs, gathered under one
 * KV key so a cold isolate loads the whole route table with a single read.
 */
export interface RoutedService {
  name: string;
  routes: ServiceConfig["routes"];
  balancer: ServiceConfig["balancer"];
  mode: ServiceConfig["routing"]["mode"];
  retry: ServiceConfig["retry"];
  panic: boolean;
}

export interface RouteIndex {
  version: number;
  generatedAt: number;
  services: RoutedService[];
}

export function routedService(name: string, config: ServiceConfig): RoutedService {
  return {
    name,
    routes: config.routes,
    balancer: config.balancer,
    mode: config.routing.mode,
    retry: config.retry,
    panic: config.panic.routeToAllWhenNoneHealthy,
  };
}
