import { MeshError } from "../core/errors.js";
import { callCoordinator } from "../coordinator/stub.js";
import type { ServiceCoordinator } from "../coordinator/service-coordinator.js";

/** Seconds a client should wait before trying again after a coordinator failure. */
const RETRY_AFTER_SECONDS = 1;

/**
 * What the API answers when the coordinator could not be reached or failed,
 * after callCoordinator's own retry: a 503 the client may retry, never a bare
 * 500. The cause goes to the log only.
 */
export function coordinatorUnavailable(service: string, err: unknown): MeshError {
  console.error(JSON.stringify({ event: "coordinator_call_failed", service, message: String(err) }));
  return new MeshError(503, "coordinator_unavailable", `the coordinator for service '${service}' is unavailable; retry shortly`, {
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
  });
}

/** A coordinator call from an API handler: retried once when the platform says so, else a 503. */
export async function viaCoordinator<T>(
  env: Env,
  service: string,
  call: (stub: DurableObjectStub<ServiceCoordinator>) => Promise<T>,
): Promise<T> {
  try {
    return await callCoordinator(env, service, call);
  } catch (err) {
    throw coordinatorUnavailable(service, err);
  }
}
