import { isRoutableMember } from "../../core/membership/snapshot-rules.js";
import type { ServiceMetrics } from "../../core/metrics/prometheus.js";
import { computeStats, type ServiceStats, type StatsWindow } from "../../core/metrics/stats.js";
import type { CoordinatorState } from "../state.js";
import type { MetricsStore } from "./metrics-store.js";

/** What a scrape reads from one coordinator: running totals, live health, its own counters. */
export function serviceMetrics(state: CoordinatorState, store: MetricsStore, now: number): ServiceMetrics | null {
  if (state.name === null || state.config === null) return null;
  return {
    service: state.name,
    totals: store.totals(),
    // Healthy as the snapshot sees it: a lapsed lease is out already, reaped by the alarm or not.
    instances: [...state.members.values()].map((m) => ({ id: m.id, healthy: isRoutableMember(m, now) })),
    counters: store.counters(),
  };
}

/** The stats endpoint's body for one window; instances are the current members, draining and expired ones included. */
export function serviceStats(state: CoordinatorState, store: MetricsStore, window: StatsWindow, now: number): ServiceStats | null {
  if (state.name === null || state.config === null) return null;
  const instances = [...state.members.values()].map((m) => ({ id: m.id, url: m.url }));
  return computeStats(state.name, window, now, store.minutes(), instances);
}
