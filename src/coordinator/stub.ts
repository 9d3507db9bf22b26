import { STUB_RETRY, withStubRetry } from "../core/rpc/stub-retry.js";
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls the service's coordinator, once more after a retryable, not-overloaded
 * error (core/rpc/stub-retry.ts), with a fresh stub for the second attempt.
 * For control-plane callers (API, sweep); the edge's hot path keeps its own
 * timeouts and fallbacks and does not wait out a backoff.
 */
export function callCoordinator<T>(env: Env, service: string, call: (stub: DurableObjectStub<ServiceCoordinator>) => Promise<T>): Promise<T> {
  return withStubRetry(() => call(coordinator(env, service)), { ...STUB_RETRY, random: Math.random, sleep });
}
