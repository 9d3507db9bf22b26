import { mapPool } from "../core/map-pool.js";
import { applyCheck } from "../core/health/health-machine.js";
import type { ServiceConfig } from "../core/schema/service.js";
import { probe, PROBE_CONCURRENCY } from "./outbound/probe.js";
import type { CoordinatorState } from "./state.js";

/** A router's report of a broken connection triggers at most one confirming probe per instance per second. */
const SUSPECT_PROBE_GAP_MS = 1000;

/**
 * Active health checks: the alarm's rounds over every active member, and the
 * single confirming probe a router's report of a broken connection asks for.
 * Probes are outbound I/O, so other RPCs run while they are in flight; every
 * result is applied to the member as it is *then*, looked up again.
 */
export class HealthRounds {
  readonly #state: CoordinatorState;
  readonly #waitUntil: (p: Promise<unknown>) => void;
  readonly #lastSuspectProbe = new Map<string, number>();
  /** Counts each probe's result for the metrics (switchyard_health_checks_total). */
  readonly #counted: (ok: boolean) => void;

  constructor(state: CoordinatorState, waitUntil: (p: Promise<unknown>) => void, counted: (ok: boolean) => void = () => undefined) {
    this.#state = state;
    this.#waitUntil = waitUntil;
    this.#counted = counted;
  }

  /** Whether a round is due (within 50 ms: an alarm may fire a little early). */
  isDue(now: number): boolean {
    return this.#state.nextCheckAt <= now + 50;
  }

  /** Runs a round if one is due (so an alarm delivered twice probes once) and schedules the next. */
  async runIfDue(config: ServiceConfig): Promise<void> {
    const state = this.#state;
    if (!this.isDue(Date.now())) return;
    const roundStart = Date.now();
    const targets = [...state.members.values()].filter((m) => m.membership === "active").map((m) => m.id);
    await mapPool(targets, PROBE_CONCURRENCY, (id) => this.#check(id, config));
    // The interval in force now, not at the round's start: a configure during the round re-aimed
    // nextCheckAt for its interval, and the old one would overwrite that (3600 → 5 s waited an hour).
    const interval = (state.config ?? config).healthCheck.intervalSeconds * 1000;
    // Rounds start every interval from the previous start, so a probe that waits out its
    // timeout does not push the next round back. Jitter only shortens the interval (up to
    // 10%), which spreads many services' probes without ever checking later than configured.
    const next = roundStart + Math.round(interval * (0.9 + Math.random() * 0.1));
    state.setNextCheckAt(Math.max(next, Date.now()));
  }

  /** One confirming probe in the background, at most one per instance per SUSPECT_PROBE_GAP_MS. */
  suspect(id: string, now: number): void {
    const config = this.#state.config;
    const last = this.#lastSuspectProbe.get(id) ?? 0;
    if (config === null || now - last < SUSPECT_PROBE_GAP_MS) return;
    this.#lastSuspectProbe.set(id, now);
    this.#waitUntil(
      this.#check(id, config)
        .then(() => this.#state.snapshot(Date.now()))
        .catch((err: unknown) => console.error(JSON.stringify({ event: "suspect_probe_failed", id, message: String(err) }))),
    );
  }

  forget(id?: string): void {
    if (id === undefined) this.#lastSuspectProbe.clear();
    else this.#lastSuspectProbe.delete(id);
  }

  async #check(id: string, config: ServiceConfig): Promise<void> {
    const before = this.#state.members.get(id);
    if (before === undefined) return;
    const result = await probe(before.url, config.healthCheck);
    // Look the member up again: it may have been removed or replaced while the probe was in flight.
    // A new membershipSince is a new incarnation (it drained or expired and registered again): it
    // starts with fresh health, and a probe sent to the one before says nothing about it.
    const m = this.#state.members.get(id);
    // Not counted once the member is gone: after a service DELETE (destroy cleared the metrics) the
    // count would land in the metrics of the service created again under the name.
    if (m !== undefined) this.#counted(result.ok);
    if (m === undefined || m.membership !== "active" || m.membershipSince !== before.membershipSince) return;
    this.#state.setHealth(m, applyCheck(m.health, result, config.healthCheck, Date.now()));
  }
}
