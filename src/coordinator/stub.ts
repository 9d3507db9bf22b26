import type { ServiceCoordinator } from "./service-coordinator.js";

type Namespace = Env["SERVICES"];

/**
 * Durable Object ids per namespace binding and service name. `idFromName`
 * hashes the name on every call (it showed up as most of the cost of sending
 * a strict-mode pick RPC in a CPU profile); an id is a plain value, unlike a
 * stub, so it can be kept for the life of the isolate. One entry per service
 * this isolate has routed or managed.
 */
const ids = new WeakMap<Namespace, Map<string, DurableObjectId>>();

function idFor(ns: Namespace, service: string): DurableObjectId {
  let byName = ids.get(ns);
  if (byName === undefined) {
    byName = new Map();
    ids.set(ns, byName);
  }
  let id = byName.get(service);
  if (id === undefined) {
    id = ns.idFromName(service);
    byName.set(service, id);
  }
  return id;
}

/**
 * The coordinator for one service. A stub belongs to the request that made it
 * (its I/O cannot outlive that request), so make one per use rather than
 * caching stubs across requests.
 */
export function coordinator(env: Env, service: string): DurableObjectStub<ServiceCoordinator> {
  return env.SERVICES.get(idFor(env.SERVICES, service));
}
