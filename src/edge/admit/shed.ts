import { MeshError } from "../../core/errors.js";
import { isShed } from "../../core/flow/shed.js";
import type { RequestState } from "../request-state.js";

/** A request turned away by the service's `shedPercent`. */
export interface ShedRefusal {
  readonly outcome: "shed";
  readonly error: MeshError;
}

/**
 * How long a shed client is told to wait. It stays shed for as long as the
 * operator keeps the setting, so asking it back within a second would only
 * bring the same request again; 10 s is about how long an operator's change
 * takes to reach every isolate (the route table's 5 s TTL plus KV's spread).
 */
export const SHED_RETRY_AFTER_SECONDS = 10;

/**
 * Admission policy for services with `shedPercent` (core/flow/shed.ts): that
 * share of clients, chosen by a hash of CF-Connecting-IP, is refused with
 * 503 overloaded before the body is read or any origin is picked, so a shed
 * request costs the origins nothing and never counts against their health.
 * A request without the header (only possible off Cloudflare, e.g. in tests)
 * hashes as the empty address: all such requests are one client. Services
 * without the field pass on one field check.
 */
export function shedLoad(state: RequestState): ShedRefusal | null {
  const percent = state.service?.shedPercent;
  if (percent === undefined || state.service === null) return null;
  return shedFor(state.headers, state.service.name, percent);
}

/**
 * Whether `service` sheds the client whose request carries `headers`: the
 * request's own service, or the fallback before a hop (route/fallback.ts),
 * which passes the client's headers since a try may have replaced state.headers.
 */
export function shedFor(headers: Headers, service: string, percent: number): ShedRefusal | null {
  if (!isShed(service, headers.get("cf-connecting-ip") ?? "", percent)) return null;
  const error = new MeshError(503, "overloaded", `service '${service}' is shedding load; this client is in the shed share`, {
    headers: { "retry-after": String(SHED_RETRY_AFTER_SECONDS) },
  });
  return { outcome: "shed", error };
}
