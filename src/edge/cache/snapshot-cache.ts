import type { BalancerConfig } from "../../core/balance/index.js";
import { adoptSnapshot, newLocalServiceState, useBalancerKind, type LocalServiceState } from "../../core/local-health/local-service-state.js";
import type { Snapshot, SnapshotInstance } from "../../core/snapshot.js";
import { coordinator } from "../../coordinator/stub.js";
import { listInstances } from "../../registry/kv-registry.js";
import { refreshIdle } from "./refresh-gate.js";
import { withTimeout } from "./with-timeout.js";

/**
 * Per-isolate state of each service's routable instances (snapshot mode); the
 * rules that act on it (local marks, stall avoidance, adopting a snapshot) are
 * pure and live in src/core/local-health/.
 *
 * - Warm path: no I/O. The request that finds the snapshot older than
 *   SNAPSHOT_TTL_MS is routed from it and starts a refresh in waitUntil; the
 *   refresh sends the version it holds so an unchanged snapshot costs the DO
 *   nothing but a comparison.
 * - Cold path (first request for a service in this isolate): waits for the DO,
 *   at most DO_TIMEOUT_MS, then falls back to the KV mirror of active members,
 *   treating them all as healthy and relying on failover.
 * - After an idle spell (snapshot older than STALE_AFTER_MS, which a busy
 *   isolate never reaches since each second's first request refreshes it), the
 *   request that notices waits for the refresh it starts, at most
 *   STALE_WAIT_MS, so it is not routed on health news that is seconds old;
 *   past the bound it goes ahead with the old snapshot.
 * - A refresh that fails keeps the coordinator's last snapshot for up to
 *   KEEP_STALE_MS (a blip should not swap health data for the all-healthy KV
 *   mirror); only then does the state switch to KV, re-read every KV_TTL_MS.
 */
export const SNAPSHOT_TTL_MS = 1_000;
const KV_TTL_MS = 5_000;
const KEEP_STALE_MS = 30_000;
const DO_TIMEOUT_MS = 1_500;
/**
 * Twice the TTL: under steady traffic a snapshot is refreshed once it is a
 * second old and the refresh takes one RPC, so only an isolate that sat idle
 * sees an older one. The shortest health interval is 1 s, and an instance
 * needs `unhealthyThreshold` failed rounds to be marked, so a snapshot under
 * 2 s old misses at most about one round of health news.
 */
export const STALE_AFTER_MS = 2 * SNAPSHOT_TTL_MS;
/** The longest a request waits for that refresh (one coordinator RPC, a few ms when the DO is near). */
export const STALE_WAIT_MS = 150;

const states = new Map<string, LocalServiceState>();

export function invalidateSnapshot(service: string): void {
  states.delete(service);
}

async function kvSnapshot(env: Env, service: string, now: number): Promise<Snapshot> {
  const instances: SnapshotInstance[] = await listInstances(env.REGISTRY, service);
  return { service, version: -1, instances, allUnhealthy: false, panic: false, generatedAt: now };
}

async function refresh(env: Env, state: LocalServiceState, service: string): Promise<void> {
  const haveVersion = state.source === "coordinator" ? state.snapshot.version : undefined;
  try {
    const snap = await withTimeout(coordinator(env, service).snapshot(haveVersion), DO_TIMEOUT_MS, "snapshot");
    adoptSnapshot(state, snap, "coordinator", Date.now());
  } catch (err) {
    const now = Date.now();
    console.error(JSON.stringify({ event: "snapshot_refresh_failed", service, message: String(err) }));
    if (state.source === "coordinator" && now - state.confirmedAt < KEEP_STALE_MS) {
      state.fetchedAt = now;
    } else {
      adoptSnapshot(state, await kvSnapshot(env, service, now), "kv", now);
    }
  } finally {
    state.refreshStartedAt = null;
  }
}

/**
 * The warm path, synchronous so a warm request awaits nothing here: the
 * service's state if this isolate holds it (starting a background refresh when
 * it is due), else undefined and the caller loads it with loadLocalState.
 */
export function cachedLocalState(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerConfig,
  now: number,
): LocalServiceState | undefined {
  const state = states.get(service);
  if (state === undefined) return undefined;
  // The refresh is held open by ctx.waitUntil inside; a warm request routes from the state it has.
  void startRefreshIfDue(env, ctx, state, service, kind, now);
  return state;
}

/**
 * As cachedLocalState, but a snapshot from the coordinator older than
 * STALE_AFTER_MS (an idle isolate) comes back as a promise: the refresh this
 * request started, bounded by STALE_WAIT_MS. Only the request that starts the
 * refresh waits on it (a promise begun by another request may be cancelled
 * with that request); concurrent ones use the snapshot they find.
 */
export function currentLocalState(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerConfig,
  now: number,
): LocalServiceState | Promise<LocalServiceState> | undefined {
  const state = states.get(service);
  if (state === undefined) return undefined;
  const refreshing = startRefreshIfDue(env, ctx, state, service, kind, now);
  if (refreshing === null || state.source !== "coordinator" || now - state.fetchedAt < STALE_AFTER_MS) return state;
  return withTimeout(refreshing, STALE_WAIT_MS, "stale snapshot refresh").then(
    () => state,
    () => state,
  );
}

/** Starts a background refresh when the state is past its TTL and none is running; returns it, else null. */
function startRefreshIfDue(
  env: Env,
  ctx: ExecutionContext,
  state: LocalServiceState,
  service: string,
  kind: BalancerConfig,
  now: number,
): Promise<void> | null {
  useBalancerKind(state, kind, Math.random);
  const ttl = state.source === "kv" ? KV_TTL_MS : SNAPSHOT_TTL_MS;
  if ((!state.refreshDue && now - state.fetchedAt < ttl) || !refreshIdle(state.refreshStartedAt, now)) return null;
  state.refreshStartedAt = now;
  // A mark made while this refresh runs asks for the next one.
  state.refreshDue = false;
  const refreshing = refresh(env, state, service);
  ctx.waitUntil(refreshing);
  return refreshing;
}

/** The cold path: asks the coordinator (bounded by DO_TIMEOUT_MS), else the KV mirror. */
export async function loadLocalState(env: Env, service: string, kind: BalancerConfig, now: number): Promise<LocalServiceState> {
  let fresh: LocalServiceState;
  try {
    const snap = await withTimeout(coordinator(env, service).snapshot(), DO_TIMEOUT_MS, "snapshot");
    fresh =
      snap === null
        ? newLocalServiceState(await kvSnapshot(env, service, now), "kv", kind, now, Math.random)
        : newLocalServiceState(snap, "coordinator", kind, now, Math.random);
  } catch (err) {
    console.error(JSON.stringify({ event: "snapshot_load_failed", service, message: String(err) }));
    fresh = newLocalServiceState(await kvSnapshot(env, service, now), "kv", kind, now, Math.random);
  }
  // Concurrent cold requests each loaded a state; the first one stored wins, so
  // balancer position, marks and in-flight tries live in a single place.
  const raced = states.get(service);
  if (raced !== undefined) return raced;
  states.set(service, fresh);
  return fresh;
}

export async function getLocalState(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerConfig,
  now: number,
): Promise<LocalServiceState> {
  return cachedLocalState(env, ctx, service, kind, now) ?? (await loadLocalState(env, service, kind, now));
}
