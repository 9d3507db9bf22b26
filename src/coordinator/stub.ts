import type { ServiceCoordinator } from "./service-coordinator.js";

/** The coordinator for one service. Stubs are cheap; make one per use rather than caching across requests. */
export function coordinator(env: Env, service: string): DurableObjectStub<ServiceCoordinator> {
  return env.SERVICES.get(env.SERVICES.idFromName(service));
}
