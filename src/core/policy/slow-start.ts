import type { SnapshotInstance } from "../snapshot.js";

/**
 * Slow start (Envoy's slow_start_config, linear aggression): an instance that
 * has just become healthy gets weight × f, where f ramps linearly from
 * SLOW_START_MIN_FACTOR to 1 over the window, so a cold cache or JIT is not
 * handed its full share at once. Applied as a weight multiplier, so only the
 * kinds that read `weight` feel it (docs/architecture.md, "Slow start").
 */
export const SLOW_START_MIN_FACTOR = 0.1;

/**
 * The ramp is recomputed in steps, not per request: a step of a twentieth of
 * the window (at least one second) keeps the weights within 4.5 % of the
 * exact line while a pick only compares one time.
 */
export const SLOW_START_MIN_STEP_MS = 1_000;
export const SLOW_START_STEPS = 20;

export function slowStartFactor(healthySince: number, now: number, windowMs: number): number {
  if (windowMs <= 0) return 1;
  const elapsed = now - healthySince;
  if (elapsed >= windowMs) return 1;
  // A clock slightly behind the coordinator's reads as "just now", never below the floor.
  const share = Math.max(0, elapsed) / windowMs;
  return SLOW_START_MIN_FACTOR + (1 - SLOW_START_MIN_FACTOR) * share;
}

export interface Ramp<C> {
  /** The instances with ramped weights, or the very list given when none is ramping. */
  list: readonly C[];
  /** When the ramp must be computed again (Infinity once every ramp has ended). */
  nextAt: number;
}

/**
 * Weights for `now`. A ramping instance is copied with its weight scaled; the
 * others are kept as they are. When nothing ramps the input array itself comes
 * back, so a service past every window routes from the snapshot's own list.
 */
export function rampWeights<C extends SnapshotInstance>(instances: readonly C[], windowMs: number, now: number): Ramp<C> {
  let ending = Number.POSITIVE_INFINITY;
  for (const i of instances) {
    const end = (i.healthySince ?? Number.NEGATIVE_INFINITY) + windowMs;
    if (end > now && end < ending) ending = end;
  }
  if (!Number.isFinite(ending)) return { list: instances, nextAt: Number.POSITIVE_INFINITY };
  const step = Math.max(SLOW_START_MIN_STEP_MS, windowMs / SLOW_START_STEPS);
  const list = instances.map((i) => {
    const f = i.healthySince === undefined ? 1 : slowStartFactor(i.healthySince, now, windowMs);
    return f === 1 ? i : { ...i, weight: (i.weight > 0 ? i.weight : 1) * f };
  });
  return { list, nextAt: Math.min(now + step, ending) };
}
