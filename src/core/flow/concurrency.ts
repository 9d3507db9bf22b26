import type { LocalServiceState } from "../local-health/local-service-state.js";

/**
 * Concurrency limits and Retry-After holds, as hard exclusions from a pick
 * (unlike local marks and stalls, which are only avoided while something
 * else is free). Both read this isolate's own bookkeeping: `pending` (tries
 * in flight per instance, as Envoy's circuit breaker counts per worker) and
 * `held` (instances whose 503 said Retry-After).
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
    for (const [id, starts] of state.pending) if (starts.length >= maxPerInstance) (out ??= new Set(tried)).add(id);
  }
  return out ?? tried;
}

/** True when some instance is at its cap: a pick that found nothing found it because of the limit. */
export function anyAtCapacity(state: LocalServiceState, maxPerInstance: number): boolean {
  for (const starts of state.pending.values()) if (starts.length >= maxPerInstance) return true;
  return false;
}

/**
 * Holds an instance back until `until` (an origin's Retry-After). A later
 * hold never shortens an earlier one. Kept apart from local marks: a new
 * snapshot version clears marks (the coordinator has judged them), but the
 * coordinator knows nothing of an origin's own request to be left alone.
 */
export function holdInstance(state: LocalServiceState, id: string, until: number): void {
  const held = state.held.get(id);
  if (held === undefined || held < until) state.held.set(id, until);
}
