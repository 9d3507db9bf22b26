import type { HealthCheckConfig, OutlierConfig } from "../schema/service.js";

/**
 * The health of one instance, as a pure value. Two signals feed it:
 *  - active checks (the Durable Object's alarm probes `healthCheck.path`), which
 *    move `status` between healthy and unhealthy after the configured number of
 *    consecutive results;
 *  - passive outcomes (what routers saw on real traffic), which eject an
 *    instance for a while after `outlier.consecutiveFailures` failures in a row.
 *    Each ejection lasts base * 2^(ejections so far), capped, so a flapping host
 *    is kept out longer each time.
 * An instance is routable when its status is healthy and it is not ejected.
 */
export interface HealthState {
  status: "healthy" | "unhealthy";
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastCheckAt: number | null;
  lastCheckResult: string | null;
  passiveFailures: number;
  ejectedUntil: number | null;
  ejections: number;
  /**
   * When active checks last brought the instance back (unhealthy → healthy);
   * absent until then, and the member's registration time stands in. Read by
   * slow start (src/core/policy/slow-start.ts).
   */
  healthySince?: number;
}

export type CheckResult = { ok: true; detail: string } | { ok: false; detail: string };

/**
 * A freshly registered instance starts healthy: it has just proved it is up by
 * calling the registration API, and starting unhealthy would keep a new
 * deployment out of rotation for healthyThreshold * intervalSeconds.
 */
export function initialHealth(): HealthState {
  return {
    status: "healthy",
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    lastCheckAt: null,
    lastCheckResult: null,
    passiveFailures: 0,
    ejectedUntil: null,
    ejections: 0,
  };
}

export function applyCheck(
  state: HealthState,
  result: CheckResult,
  config: Pick<HealthCheckConfig, "healthyThreshold" | "unhealthyThreshold">,
  now: number,
): HealthState {
  const next: HealthState = { ...state, lastCheckAt: now, lastCheckResult: result.detail };
  if (result.ok) {
    next.consecutiveSuccesses = state.consecutiveSuccesses + 1;
    next.consecutiveFailures = 0;
    if (state.status === "unhealthy" && next.consecutiveSuccesses >= config.healthyThreshold) {
      next.status = "healthy";
      next.healthySince = now;
      // A host that passes active checks again starts with a clean passive record: any
      // ejection ends now. The end is kept (not nulled) because forgiveness of past
      // ejections (applyPassive) counts from it; with null, `ejections` never ages out.
      next.passiveFailures = 0;
      if (state.ejectedUntil !== null) next.ejectedUntil = Math.min(state.ejectedUntil, now);
    }
  } else {
    next.consecutiveFailures = state.consecutiveFailures + 1;
    next.consecutiveSuccesses = 0;
    if (state.status === "healthy" && next.consecutiveFailures >= config.unhealthyThreshold) {
      next.status = "unhealthy";
    }
  }
  return next;
}

/** Passive outcomes for one instance over one report batch, in arrival order folded. */
export interface PassiveOutcome {
  requests: number;
  failures: number;
  /** Failures at the end of the batch with no success after them. */
  trailingFailures: number;
}

/**
 * Folds a batch of passive outcomes in. `canEject` is false when ejecting this
 * instance would leave the service with no routable instance: we never eject
 * the last one, because a degraded answer beats a guaranteed 503.
 */
export function applyPassive(
  state: HealthState,
  outcome: PassiveOutcome,
  config: OutlierConfig,
  now: number,
  canEject: boolean,
): HealthState {
  // A body that broke after its try was reported a success adds a failure but no request
  // (core/snapshot.ts, afterAnswer), so a batch may hold more failures than requests: it is
  // all failed when no success came after its failures.
  const allFailed = outcome.failures > 0 && outcome.failures >= outcome.requests && outcome.trailingFailures > 0;
  const passiveFailures = allFailed ? state.passiveFailures + outcome.failures : outcome.trailingFailures;
  const next: HealthState = { ...state, passiveFailures };
  // Forgive one past ejection per clean batch once the last ejection is well behind us,
  // so a host that misbehaved weeks ago does not get the maximum ejection next time.
  if (
    outcome.failures === 0 &&
    state.ejections > 0 &&
    state.ejectedUntil !== null &&
    now - state.ejectedUntil > config.maxEjectionSeconds * 1000
  ) {
    next.ejections = state.ejections - 1;
  }
  if (passiveFailures >= config.consecutiveFailures && !isEjected(state, now) && canEject) {
    const seconds = Math.min(config.maxEjectionSeconds, config.baseEjectionSeconds * 2 ** Math.min(state.ejections, 20));
    next.ejectedUntil = now + seconds * 1000;
    next.ejections = state.ejections + 1;
    next.passiveFailures = 0;
  }
  return next;
}

export function isEjected(state: HealthState, now: number): boolean {
  return state.ejectedUntil !== null && state.ejectedUntil > now;
}

export function isRoutable(state: HealthState, now: number): boolean {
  return state.status === "healthy" && !isEjected(state, now);
}

/** Does `status` count as a passing check for this config? */
export function checkPasses(status: number, config: Pick<HealthCheckConfig, "expectedStatuses">): boolean {
  return config.expectedStatuses.includes(status);
}
