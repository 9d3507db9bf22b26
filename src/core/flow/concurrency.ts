import type { LocalServiceState } from "../local-health/local-service-state.js";

/**
 * Concurrency limits and Retry-After holds, as hard exclusions from a pick
 * (unlike local marks and stalls, which are only avoided while something
 * else is free). Both read this isolate's own bookkeeping: a request counts
 * against its instance's cap from its pick until its answer's body has been
 * relayed in full (`pending`, tries waiting for headers, plus `relaying`,
 * answers still streaming), as Envoy's circuit breaker counts a request per
 * worker until its response completes; and `held` (instances whose 503 said
 * Retry-After).
 */

/**
 * The instances a pick must not choose: `tried`, plus every instance at its
 * concurrency cap or held back by a Retry-After. Returns `tried` itself when
 * nothing is added, so a service without a cap and with no hold costs one
 * size check and allocates nothing.
 */
export function excludedFromPick(
  state: LocalServiceState,
  tried: ReadonlySet<string> | undefined,
  now: number,
  maxPerInstance: number | undefined,
): ReadonlySet<string> | undefined {
  if (state.held.size === 0 && maxPerInstance === undefined) return tried;
  let out: Set<string> | null = null;
  for (const [id, until] of state.held) {
    // An expired hold is dropped here, so the map only holds live ones.
    if (until <= now) state.held.delete(id);
    else (out ??= new Set(tried)).add(id);
  }
  if (maxPerInstance !== undefined) {
    // An instance at its cap has a try waiting for headers or an answer still streaming, so it is a key of one map or the other.
    for (const id of state.pending.keys()) if (inFlight(state, id) >= maxPerInstance) (out ??= new Set(tried)).add(id);
    for (const id of state.relaying.keys()) if (inFlight(state, id) >= maxPerInstance) (out ??= new Set(tried)).add(id);
  }
  return out ?? tried;
}

/** True when some instance is at its cap: a pick that found nothing found it because of the limit. */
export function anyAtCapacity(state: LocalServiceState, maxPerInstance: number): boolean {
  for (const id of state.pending.keys()) if (inFlight(state, id) >= maxPerInstance) return true;
  for (const id of state.relaying.keys()) if (inFlight(state, id) >= maxPerInstance) return true;
  return false;
}

/** What counts against an instance's cap: its tries waiting for headers and its answers whose body is still being relayed. */
export function inFlight(state: LocalServiceState, id: string): number {
  return (state.pending.get(id)?.length ?? 0) + (state.relaying.get(id) ?? 0);
}

/**
 * An answer from `id` whose body is to be relayed keeps its slot until the
 * body ends (relayEnded): the try's slot passes to it when its headers arrive.
 * A long download or event stream is what loads an origin most, and a cap
 * that stopped counting at the headers let any number of them reach one
 * instance (Envoy, HAProxy's maxconn and nginx's max_conns count a request
 * until its response is complete).
 */
export function relayStarted(state: LocalServiceState, id: string): void {
  state.relaying.set(id, (state.relaying.get(id) ?? 0) + 1);
}

/** The relayed body from `id` ended: finished, failed, or cancelled by its client. Call once per relayStarted. */
export function relayEnded(state: LocalServiceState, id: string): void {
  const n = (state.relaying.get(id) ?? 0) - 1;
  if (n > 0) state.relaying.set(id, n);
  else state.relaying.delete(id);
}

/**
 * Holds an instance back until `until` (an origin's Retry-After). A later
 * hold never shortens an earlier one. Kept apart from local marks: a new
 * snapshot drops the mark of an instance the coordinator took out or brought
 * back (it has judged it), but the coordinator knows nothing of an origin's
 * own request to be left alone.
 */
export function holdInstance(state: LocalServiceState, id: string, until: number): void {
  const held = state.held.get(id);
  if (held === undefined || held < until) state.held.set(id, until);
}
